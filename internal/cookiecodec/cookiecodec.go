// Package cookiecodec writes and reads cookie values in the format of
// github.com/gorilla/securecookie (HMAC-SHA256, AES-CTR when there is a
// block key, raw bytes for the caller to serialize), with securecookie's
// very checks, in reused buffers: securecookie copies the value at each
// step, formats it with fmt.Sprintf and builds a new HMAC for every call.
// Values it writes, securecookie reads, and the other way round.
//
// A value is base64url("date|" + base64url(iv + ciphertext) + "|" + mac),
// where mac is HMAC-SHA256(hashKey, name + "|date|" + base64url(iv +
// ciphertext)) and iv is random; without a block key the plaintext stands
// for iv + ciphertext. The MAC is checked, in constant time, before
// anything is decrypted.
package cookiecodec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeyPair is a hash key (HMAC-SHA256) and an optional block key (AES, 16,
// 24 or 32 bytes).
type KeyPair struct {
	// HashKey authenticates (HMAC-SHA256).
	HashKey []byte
	// BlockKey encrypts (AES), or is nil for a value only signed.
	BlockKey []byte
}

// A Codec writes with its first key pair and reads with any.
type Codec struct {
	keys      []key
	maxAge    int64 // seconds; 0 for none
	maxLength int   // of a value; 0 for none
	buffers   sync.Pool
}

type key struct {
	block cipher.Block // nil without a block key
	macs  sync.Pool    // hash.Hash keyed with the pair's hash key
}

type buffers struct {
	src, outer, inner, plain []byte
}

// Errors of Decode.
var (
	ErrEncoding = errors.New("cookie value is not base64")
	ErrFormat   = errors.New("cookie value is not date|value|mac")
	ErrMAC      = errors.New("cookie value is not authenticated by any key pair")
	ErrExpired  = errors.New("cookie value has expired")
	ErrCipher   = errors.New("cookie value is too short to decrypt")
	ErrTooLong  = errors.New("cookie value is too long")
)

// New returns a Codec for keys, newest first. Values older than maxAge
// (whole seconds, as securecookie counts them) do not decode, and values
// longer than maxLength neither encode nor decode; 0 means no limit.
// (securecookie's defaults are 30 days and 4096 bytes.)
func New(keys []KeyPair, maxAge time.Duration, maxLength int) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key pairs")
	}
	c := &Codec{keys: make([]key, len(keys)), maxAge: int64(maxAge / time.Second), maxLength: maxLength}
	for i, k := range keys {
		if len(k.HashKey) == 0 {
			return nil, fmt.Errorf("key pair %d has no hash key", i)
		}
		if len(k.BlockKey) > 0 {
			block, err := aes.NewCipher(k.BlockKey)
			if err != nil {
				return nil, fmt.Errorf("key pair %d: %w", i, err)
			}
			c.keys[i].block = block
		}
		hashKey := append([]byte(nil), k.HashKey...)
		c.keys[i].macs.New = func() any { return hmac.New(sha256.New, hashKey) }
	}
	c.buffers.New = func() any { return new(buffers) }
	return c, nil
}

// Encode returns the value of cookie name carrying the bytes that plain
// appends to the buffer it is given.
func (c *Codec) Encode(name string, plain func([]byte) ([]byte, error)) (string, error) {
	buf := c.buffers.Get().(*buffers)
	defer c.buffers.Put(buf)
	k := &c.keys[0]

	// 1. The plaintext.
	p, err := plain(buf.plain[:0])
	if err != nil {
		return "", err
	}
	buf.plain = p

	// 2. AES-CTR under a random IV, the IV in front.
	inner := p
	if k.block != nil {
		size := k.block.BlockSize()
		buf.inner = grow(buf.inner, size+len(p))
		inner = buf.inner[:size+len(p)]
		rand.Read(inner[:size])
		cipher.NewCTR(k.block, inner[:size]).XORKeyStream(inner[size:], p)
	}

	// 3. "name|date|" + base64url(inner), its MAC appended after a "|".
	buf.outer = grow(buf.outer, len(name)+1+20+1+base64.URLEncoding.EncodedLen(len(inner))+1+sha256.Size)
	outer := append(buf.outer[:0], name...)
	outer = append(outer, '|')
	outer = strconv.AppendInt(outer, time.Now().UTC().Unix(), 10)
	outer = append(outer, '|')
	outer = base64.URLEncoding.AppendEncode(outer, inner)
	h := k.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(outer)
	outer = append(outer, '|')
	outer = h.Sum(outer)
	k.macs.Put(h)
	buf.outer = outer

	// 4. "date|value|mac", without the name, in base64url.
	signed := outer[len(name)+1:]
	buf.src = grow(buf.src, base64.URLEncoding.EncodedLen(len(signed)))
	out := buf.src[:base64.URLEncoding.EncodedLen(len(signed))]
	base64.URLEncoding.Encode(out, signed)
	if c.maxLength != 0 && len(out) > c.maxLength {
		return "", fmt.Errorf("%w: %d bytes", ErrTooLong, len(out))
	}
	return string(out), nil
}

// Decode verifies and decrypts the value of cookie name made of parts
// (one part, or chunks of which all but the last are whole base64 quanta)
// and calls use with the plaintext, which is valid only during the call.
// It returns use's error, or one of the package's.
func (c *Codec) Decode(name string, parts []string, use func(plain []byte) error) error {
	buf := c.buffers.Get().(*buffers)
	defer c.buffers.Put(buf)

	// 1. The outer base64, part by part.
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if c.maxLength != 0 && n > c.maxLength {
		return ErrTooLong
	}
	buf.outer = grow(buf.outer, base64.URLEncoding.DecodedLen(n))
	outer := buf.outer[:0]
	for i, p := range parts {
		// Only the end of the whole value may be padded.
		if i < len(parts)-1 && (len(p)%4 != 0 || strings.IndexByte(p, '=') >= 0) {
			return ErrEncoding
		}
		m, err := decodeURL(outer[len(outer):cap(outer)], p, &buf.src)
		if err != nil {
			return ErrEncoding
		}
		outer = outer[:len(outer)+m]
	}

	// 2. "date|value|mac", authenticated by one of the key pairs.
	i := bytes.IndexByte(outer, '|')
	if i < 0 {
		return ErrFormat
	}
	j := bytes.IndexByte(outer[i+1:], '|')
	if j < 0 {
		return ErrFormat
	}
	date, value, mac := outer[:i], outer[i+1:i+1+j], outer[i+1+j+1:]
	prefix := append(append(buf.plain[:0], name...), '|')
	buf.plain = prefix
	k := c.verify(prefix, outer[:i+1+j], mac)
	if k == nil {
		return ErrMAC
	}
	t, ok := parseDate(date)
	if !ok {
		return ErrFormat
	}
	if c.maxAge != 0 && t < time.Now().UTC().Unix()-c.maxAge {
		return ErrExpired
	}

	// 3. The inner base64, then AES-CTR with the IV in front.
	buf.inner = grow(buf.inner, base64.URLEncoding.DecodedLen(len(value)))
	m, err := decodeURLBytes(buf.inner[:cap(buf.inner)], value, &buf.src)
	if err != nil {
		return ErrEncoding
	}
	plain := buf.inner[:m]
	if k.block != nil {
		size := k.block.BlockSize()
		if len(plain) <= size {
			return ErrCipher
		}
		iv := plain[:size]
		plain = plain[size:]
		cipher.NewCTR(k.block, iv).XORKeyStream(plain, plain)
	}
	return use(plain)
}

// verify returns the key pair whose MAC of prefix (the name and "|") and
// signed is mac, or nil. Every pair is tried, as securecookie.DecodeMulti
// does.
func (c *Codec) verify(prefix, signed, mac []byte) *key {
	var sum [sha256.Size]byte
	for i := range c.keys {
		k := &c.keys[i]
		h := k.macs.Get().(hash.Hash)
		h.Reset()
		h.Write(prefix)
		h.Write(signed)
		ok := hmac.Equal(h.Sum(sum[:0]), mac)
		k.macs.Put(h)
		if ok {
			return k
		}
	}
	return nil
}

// parseDate parses securecookie's timestamp, as strconv.ParseInt does.
func parseDate(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var buf [20]byte
	t, err := strconv.ParseInt(string(append(buf[:0], b...)), 10, 64)
	return t, err == nil
}

// grow returns b emptied, with room for n bytes.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, 0, n)
	}
	return b[:0]
}
