package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// GenerateKeyPair returns a new random key pair: a 32-byte hash key and a
// 32-byte block key (AES-256). Store it, encoded with [ParseKeyPair]'s
// hex or base64, where the application keeps its secrets: sessions last
// only as long as their keys.
func GenerateKeyPair() (KeyPair, error) {
	k := KeyPair{HashKey: make([]byte, 32), BlockKey: make([]byte, 32)}
	if _, err := rand.Read(k.HashKey); err != nil {
		return KeyPair{}, fmt.Errorf("session: generating a key: %w", err)
	}
	if _, err := rand.Read(k.BlockKey); err != nil {
		return KeyPair{}, fmt.Errorf("session: generating a key: %w", err)
	}
	return k, nil
}

// ParseKeyPair decodes a key pair from text, as environment variables and
// secret managers hold it: each key in hex or in base64 (standard or URL
// alphabet, with or without padding), surrounding spaces ignored. The hash
// key must decode to at least 32 bytes, the block key to 16, 24 or 32, or
// be empty for a [ServerStore], which signs with the hash key alone.
//
// Keys that are not random are refused: all zeros, or text (a password
// or a phrase, raw or base64-encoded), which has far less entropy than
// its length suggests. Generate keys with [GenerateKeyPair] or
// `openssl rand -hex 32`. Errors never show the key.
func ParseKeyPair(hashKey, blockKey string) (KeyPair, error) {
	h, err := parseKey(hashKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("session: hash key: %w", err)
	}
	if len(h) < 32 {
		return KeyPair{}, fmt.Errorf("session: hash key: %d bytes, at least 32 are required", len(h))
	}
	k := KeyPair{HashKey: h}
	if strings.TrimSpace(blockKey) == "" {
		return k, nil
	}
	if k.BlockKey, err = parseKey(blockKey); err != nil {
		return KeyPair{}, fmt.Errorf("session: block key: %w", err)
	}
	switch len(k.BlockKey) {
	case 16, 24, 32:
	default:
		return KeyPair{}, fmt.Errorf("session: block key: %d bytes, 16, 24 or 32 are required", len(k.BlockKey))
	}
	return k, nil
}

// parseKey decodes one key from hex or base64, and refuses keys that are
// not random.
func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	key, err := decodeKey(s)
	if err != nil {
		return nil, err
	}
	if err := checkRandom(key); err != nil {
		return nil, err
	}
	return key, nil
}

// decodeKey decodes s as hex when it is hex, and as base64 otherwise.
func decodeKey(s string) ([]byte, error) {
	if len(s)%2 == 0 && strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		return hex.DecodeString(s)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			return key, nil
		}
	}
	if printable(s) {
		return nil, errors.New("neither hex nor base64 (raw text is not a key: generate one, for example with openssl rand -hex 32)")
	}
	return nil, errors.New("neither hex nor base64")
}

// checkRandom refuses a key that is all zeros or printable text.
func checkRandom(key []byte) error {
	switch {
	case allZero(key):
		return errors.New("all zeros: not a key")
	case printable(string(key)):
		return errors.New("decodes to printable text, not random bytes: generate a key, for example with openssl rand -hex 32")
	}
	return nil
}

// printable reports whether s is all printable ASCII, as a password is.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// allZero reports whether key holds only zero bytes, as an unset key
// buffer does.
func allZero(key []byte) bool {
	for _, b := range key {
		if b != 0 {
			return false
		}
	}
	return true
}
