package session

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// valueCodec writes and reads the cookie store's values in securecookie's
// format (NopEncoder, HMAC-SHA256, AES-CTR, no MaxAge), with securecookie's
// very checks, in reused buffers: the chunks are decoded one by one
// instead of joined, the outer base64 is decoded once for every key pair,
// and the HMAC state of each key is pooled. Values written by
// securecookie read, and values it writes read with securecookie.
//
// A value is base64url("date|" + base64url(iv + ciphertext) + "|" + mac)
// where mac is HMAC-SHA256(hashKey, name + "|date|" + base64url(iv +
// ciphertext)), and iv is random. The MAC is checked, in constant time,
// before anything is decrypted. The first key pair writes.
type valueCodec struct {
	name    []byte     // the cookie name and "|", as the MAC covers them
	keys    []valueKey // newest first
	buffers sync.Pool  // *valueBuffers
}

type valueKey struct {
	block cipher.Block
	macs  sync.Pool // hash.Hash keyed with the pair's hash key
}

type valueBuffers struct {
	src, outer, inner, plain []byte
}

var (
	errValueEncoding = errors.New("session: cookie value is not base64")
	errValueFormat   = errors.New("session: cookie value is not date|value|mac")
	errValueMAC      = errors.New("session: cookie value is not authenticated by any key pair")
	errValueCipher   = errors.New("session: cookie value is too short to decrypt")
)

func newValueCodec(name string, keys []KeyPair) (*valueCodec, error) {
	d := &valueCodec{name: []byte(name + "|"), keys: make([]valueKey, len(keys))}
	for i, k := range keys {
		block, err := aes.NewCipher(k.BlockKey)
		if err != nil {
			return nil, err
		}
		hashKey := append([]byte(nil), k.HashKey...)
		d.keys[i].block = block
		d.keys[i].macs.New = func() any { return hmac.New(sha256.New, hashKey) }
	}
	d.buffers.New = func() any { return new(valueBuffers) }
	return d, nil
}

// decode verifies and decrypts the value made of parts, every one but the
// last a multiple of four bytes long as chunking leaves them, and decodes
// it into d.
func (dec *valueCodec) decode(parts []string, d *Data) (rawSize int, err error) {
	buf := dec.buffers.Get().(*valueBuffers)
	defer dec.buffers.Put(buf)

	// 1. The outer base64, chunk by chunk (each is whole quanta).
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	buf.src = grow(buf.src, n)
	buf.outer = grow(buf.outer, base64.URLEncoding.DecodedLen(n))
	outer := buf.outer[:0]
	for i, p := range parts {
		// Only the end of the whole value may be padded.
		if i < len(parts)-1 && (len(p)%4 != 0 || strings.IndexByte(p, '=') >= 0) {
			return 0, errValueEncoding
		}
		src := append(buf.src[:0], p...)
		m, err := base64.URLEncoding.Decode(outer[len(outer):cap(outer)], src)
		if err != nil {
			return 0, errValueEncoding
		}
		outer = outer[:len(outer)+m]
	}

	// 2. "date|value|mac", authenticated by one of the key pairs.
	i := bytes.IndexByte(outer, '|')
	if i < 0 {
		return 0, errValueFormat
	}
	j := bytes.IndexByte(outer[i+1:], '|')
	if j < 0 {
		return 0, errValueFormat
	}
	date, value, mac := outer[:i], outer[i+1:i+1+j], outer[i+1+j+1:]
	key := dec.verify(outer[:i+1+j], mac)
	if key == nil {
		return 0, errValueMAC
	}
	if !digits(date) {
		return 0, errValueFormat
	}

	// 3. The inner base64, then AES-CTR with the IV in front.
	buf.inner = grow(buf.inner, base64.URLEncoding.DecodedLen(len(value)))
	m, err := base64.URLEncoding.Decode(buf.inner[:cap(buf.inner)], value)
	if err != nil {
		return 0, errValueEncoding
	}
	inner := buf.inner[:m]
	size := key.block.BlockSize()
	if len(inner) <= size {
		return 0, errValueCipher
	}
	plain := inner[size:]
	cipher.NewCTR(key.block, inner[:size]).XORKeyStream(plain, plain)
	return len(plain), d.UnmarshalBinary(plain) // copies what it keeps
}

// encode returns d's value, as securecookie's Encode of d.MarshalBinary()
// would (with another random IV).
func (dec *valueCodec) encode(d *Data) (string, error) {
	buf := dec.buffers.Get().(*valueBuffers)
	defer dec.buffers.Put(buf)
	key := &dec.keys[0]
	size := key.block.BlockSize()

	// 1. The session's binary form.
	plain, err := d.AppendBinary(buf.plain[:0])
	if err != nil {
		return "", err
	}
	buf.plain = plain

	// 2. AES-CTR under a random IV, the IV in front.
	buf.inner = grow(buf.inner, size+len(plain))
	inner := buf.inner[:size+len(plain)]
	rand.Read(inner[:size])
	cipher.NewCTR(key.block, inner[:size]).XORKeyStream(inner[size:], plain)

	// 3. "name|date|" + base64url(inner), its MAC appended after a "|".
	n := len(dec.name) + 20 + 1 + base64.URLEncoding.EncodedLen(len(inner)) + 1 + sha256.Size
	buf.outer = grow(buf.outer, n)
	outer := append(buf.outer[:0], dec.name...)
	outer = strconv.AppendInt(outer, time.Now().UTC().Unix(), 10)
	outer = append(outer, '|')
	outer = base64.URLEncoding.AppendEncode(outer, inner)
	h := key.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(outer)
	outer = append(outer, '|')
	outer = h.Sum(outer)
	key.macs.Put(h)
	buf.outer = outer

	// 4. "date|value|mac", without the name, in base64url.
	signed := outer[len(dec.name):]
	buf.src = grow(buf.src, base64.URLEncoding.EncodedLen(len(signed)))
	out := buf.src[:base64.URLEncoding.EncodedLen(len(signed))]
	base64.URLEncoding.Encode(out, signed)
	return string(out), nil
}

// verify returns the key pair whose MAC of name|signed is mac, or nil.
// Every pair is tried, as securecookie.DecodeMulti does.
func (dec *valueCodec) verify(signed, mac []byte) *valueKey {
	var sum [sha256.Size]byte
	for i := range dec.keys {
		k := &dec.keys[i]
		h := k.macs.Get().(hash.Hash)
		h.Reset()
		h.Write(dec.name)
		h.Write(signed)
		ok := hmac.Equal(h.Sum(sum[:0]), mac)
		k.macs.Put(h)
		if ok {
			return k
		}
	}
	return nil
}

// grow returns b with room for n bytes.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, 0, n)
	}
	return b[:0]
}

// digits reports whether b is a decimal integer, as securecookie's
// timestamp must be.
func digits(b []byte) bool {
	if len(b) == 0 || len(b) > 19 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
