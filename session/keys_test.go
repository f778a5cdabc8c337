package session_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/endsession/endsession/session"
)

func TestGenerateKeyPair(t *testing.T) {
	a, err := session.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := session.GenerateKeyPair()
	if len(a.HashKey) != 32 || len(a.BlockKey) != 32 {
		t.Fatalf("key sizes %d and %d, want 32 and 32", len(a.HashKey), len(a.BlockKey))
	}
	if bytes.Equal(a.HashKey, b.HashKey) || bytes.Equal(a.HashKey, a.BlockKey) {
		t.Fatal("two generated keys are equal")
	}
	if _, err := session.NewCookieStore(session.CookieOptions{Keys: []session.KeyPair{a}}); err != nil {
		t.Fatalf("a generated pair does not make a store: %v", err)
	}
}

func TestParseKeyPair(t *testing.T) {
	pair, _ := session.GenerateKeyPair()
	forms := map[string][2]string{
		"base64 std":    {base64.StdEncoding.EncodeToString(pair.HashKey), base64.StdEncoding.EncodeToString(pair.BlockKey)},
		"base64 raw":    {base64.RawStdEncoding.EncodeToString(pair.HashKey), base64.RawStdEncoding.EncodeToString(pair.BlockKey)},
		"base64 url":    {base64.URLEncoding.EncodeToString(pair.HashKey), base64.RawURLEncoding.EncodeToString(pair.BlockKey)},
		"hex":           {hex.EncodeToString(pair.HashKey), strings.ToUpper(hex.EncodeToString(pair.BlockKey))},
		"with newlines": {base64.StdEncoding.EncodeToString(pair.HashKey) + "\n", " " + hex.EncodeToString(pair.BlockKey) + "\r\n"},
	}
	for name, f := range forms {
		got, err := session.ParseKeyPair(f[0], f[1])
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got.HashKey, pair.HashKey) || !bytes.Equal(got.BlockKey, pair.BlockKey) {
			t.Errorf("%s: parsed a different pair", name)
		}
	}
	text := "correct horse battery staple and more words"
	refused := map[string][2]string{
		"empty":              {"", ""},
		"raw text":           {text, text[:32]},
		"base64 of text":     {base64.StdEncoding.EncodeToString([]byte(text)), hex.EncodeToString(pair.BlockKey)},
		"all zero":           {hex.EncodeToString(make([]byte, 32)), hex.EncodeToString(pair.BlockKey)},
		"all zero block key": {hex.EncodeToString(pair.HashKey), base64.StdEncoding.EncodeToString(make([]byte, 32))},
		"short hash key":     {hex.EncodeToString(pair.HashKey[:16]), hex.EncodeToString(pair.BlockKey)},
		"odd block key":      {hex.EncodeToString(pair.HashKey), hex.EncodeToString(pair.BlockKey[:20])},
		"neither form":       {"!!" + hex.EncodeToString(pair.HashKey), hex.EncodeToString(pair.BlockKey)},
	}
	for name, f := range refused {
		if _, err := session.ParseKeyPair(f[0], f[1]); err == nil {
			t.Errorf("%s: ParseKeyPair accepted it", name)
		} else if strings.Contains(err.Error(), f[0]) && f[0] != "" {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
	// A server store signs with the hash key alone.
	if got, err := session.ParseKeyPair(hex.EncodeToString(pair.HashKey), ""); err != nil || got.BlockKey != nil {
		t.Errorf("hash key alone: %v, block key %x", err, got.BlockKey)
	}
}

func TestStoresRefuseAllZeroKeys(t *testing.T) {
	zero := session.KeyPair{HashKey: make([]byte, 32), BlockKey: make([]byte, 32)}
	if _, err := session.NewCookieStore(session.CookieOptions{Keys: []session.KeyPair{zero}}); err == nil {
		t.Error("the cookie store accepted all-zero keys")
	}
	if _, err := session.NewServerStore(session.ServerOptions{Backend: session.NewMemoryBackend(session.MemoryOptions{}), Keys: []session.KeyPair{zero}}); err == nil {
		t.Error("the server store accepted an all-zero hash key")
	}
}
