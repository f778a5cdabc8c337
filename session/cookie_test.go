package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var (
	testKey1 = KeyPair{HashKey: bytes.Repeat([]byte("h"), 32), BlockKey: bytes.Repeat([]byte("b"), 32)}
	testKey2 = KeyPair{HashKey: bytes.Repeat([]byte("H"), 32), BlockKey: bytes.Repeat([]byte("B"), 16)}
)

var testNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func sampleData(idTokenSize int) *Data {
	return &Data{
		Provider: "dev", Issuer: "https://op.example", Subject: "u1", SID: "s1",
		Email: "u1@example.com", Name: "U One",
		IDToken: strings.Repeat("i", idTokenSize), IDTokenExpiry: testNow.Add(time.Hour),
		AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt", Expiry: testNow.Add(time.Minute),
		ExtraClaimsJSON: `{"email":"u1@example.com"}`,
		Created:         testNow, LastSeen: testNow, Expires: testNow.Add(time.Hour),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	d := sampleData(100)
	d.ID = "id1"
	d.IDToken = "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u1","email":"old@example.com","name":"U One"}`)) + ".sig"
	d.Device = &Device{ID: "dev", Info: `{"model":"tv"}`, Requestor: "req", MVPD: "mvpd"}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Data
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got.IDToken != d.IDToken || got.Email != d.Email || *got.Device != *d.Device ||
		!got.Expires.Equal(d.Expires) || !got.Expiry.Equal(d.Expiry) || got.ExtraClaimsJSON != d.ExtraClaimsJSON {
		t.Fatalf("round trip changed the data:\n got %+v\nwant %+v", got, *d)
	}
	for i := 0; i < len(b); i++ {
		var cut Data
		if err := cut.UnmarshalBinary(b[:i]); err == nil {
			t.Fatalf("a truncated encoding (%d of %d bytes) decoded", i, len(b))
		}
	}
	var c struct{ Email, Name string }
	if err := got.Claims(&c); err != nil || c.Email != "u1@example.com" || c.Name != "U One" {
		t.Fatalf("Claims = %v, %+v; want the ID token's claims with userinfo's over them", err, c)
	}
}

func newTestStore(t *testing.T, keys ...KeyPair) *CookieStore {
	t.Helper()
	s, err := NewCookieStore(CookieOptions{Keys: keys, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// saved returns the cookies a Save wrote, as a browser would send them back.
func saved(t *testing.T, s *CookieStore, d *Data) []*http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := s.Save(rec, httptest.NewRequest("GET", "/", nil), d); err != nil {
		t.Fatal(err)
	}
	var live []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge > 0 {
			live = append(live, c)
		}
	}
	return live
}

func requestWith(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestCookieStoreChunksLargeSessions(t *testing.T) {
	s := newTestStore(t, testKey1)
	for _, size := range []int{100, 4 << 10, 6 << 10, 10 << 10} {
		cookies := saved(t, s, sampleData(size))
		if want := 1 + (size*16/10)/chunkSize; len(cookies) < want {
			t.Errorf("size %d: %d cookies, want at least %d", size, len(cookies), want)
		}
		for _, c := range cookies {
			if len(c.Value) > chunkSize || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Errorf("size %d: cookie %s has wrong attributes or size %d", size, c.Name, len(c.Value))
			}
		}
		got, err := s.Load(requestWith(cookies...))
		if err != nil || got == nil || len(got.IDToken) != size {
			t.Fatalf("size %d: Load = %v, %v", size, got, err)
		}
	}
}

func TestCookieStoreTooLarge(t *testing.T) {
	s := newTestStore(t, testKey1)
	rec := httptest.NewRecorder()
	err := s.Save(rec, httptest.NewRequest("GET", "/", nil), sampleData(20<<10))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save of a 20 KB session = %v, want ErrTooLarge", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Fatal("a failed Save wrote cookies")
	}
}

func TestCookieStoreRejectsTampering(t *testing.T) {
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(6<<10))
	if len(cookies) < 2 {
		t.Fatalf("want a chunked session, got %d cookie(s)", len(cookies))
	}
	other := saved(t, s, sampleData(6<<10))
	flip := func(v string) string { b := []byte(v); b[len(b)/2] ^= 1; return string(b) }
	cases := []struct {
		name    string
		cookies []*http.Cookie
	}{
		{"bit flip", []*http.Cookie{{Name: cookies[0].Name, Value: flip(cookies[0].Value)}, cookies[1]}},
		{"truncated", []*http.Cookie{cookies[0], {Name: cookies[1].Name, Value: cookies[1].Value[:10]}}},
		{"chunk missing", cookies[:1]},
		{"chunks reordered", []*http.Cookie{{Name: cookies[0].Name, Value: cookies[1].Value}, {Name: cookies[1].Name, Value: cookies[0].Value}}},
		{"chunk from another session", []*http.Cookie{cookies[0], other[1]}},
		{"gap", []*http.Cookie{cookies[0], {Name: cookies[0].Name + ".2", Value: cookies[1].Value}}},
		{"invalid UTF-8", []*http.Cookie{{Name: cookies[0].Name, Value: "\xff\xfe"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := s.Load(requestWith(tc.cookies...))
			if d != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load = %v, %v; want no session and ErrInvalid", d, err)
			}
		})
	}
}

func TestCookieStoreKeyRotation(t *testing.T) {
	old := newTestStore(t, testKey1)
	cookies := saved(t, old, sampleData(100))
	rotated := newTestStore(t, testKey2, testKey1)
	if d, err := rotated.Load(requestWith(cookies...)); err != nil || d == nil {
		t.Fatalf("after adding a new key pair, an old session = %v, %v; want it read", d, err)
	}
	removed := newTestStore(t, testKey2)
	if d, err := removed.Load(requestWith(cookies...)); d != nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("after removing its key pair, an old session = %v, %v; want it rejected", d, err)
	}
	if d, err := old.Load(requestWith(saved(t, rotated, sampleData(100))...)); d != nil || err == nil {
		t.Fatal("a session written under the new key was read by a store without it")
	}
}

func TestCookieStoreExpiryAndRevocation(t *testing.T) {
	s := newTestStore(t, testKey1)
	d := sampleData(100)
	d.Expires = testNow.Add(-time.Second)
	if got, err := s.Load(requestWith(saved(t, s, d)...)); got != nil || err != nil {
		t.Fatalf("an expired session = %v, %v; want none", got, err)
	}
	cookies := saved(t, s, sampleData(100))
	ctx := context.Background()
	if err := s.EndMatching(ctx, Match{Issuer: "https://op.example", SID: "other", At: testNow, Until: testNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(requestWith(cookies...)); got == nil {
		t.Fatal("ending another sid ended this session")
	}
	s.EndMatching(ctx, Match{Issuer: "https://op.example", SID: "s1", At: testNow, Until: testNow.Add(time.Hour)})
	if got, err := s.Load(requestWith(cookies...)); got != nil || err != nil {
		t.Fatalf("a session ended by sid = %v, %v; want none", got, err)
	}
	later := sampleData(100)
	later.Created = testNow.Add(time.Second)
	if got, _ := s.Load(requestWith(saved(t, s, later)...)); got == nil {
		t.Fatal("a session created after the revocation was ended too")
	}
}

func TestCookieStoreDeleteExpiresEveryChunk(t *testing.T) {
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(8<<10))
	rec := httptest.NewRecorder()
	s.Delete(rec, requestWith(cookies...), nil)
	expired := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			expired[c.Name] = true
		}
	}
	for _, c := range cookies {
		if !expired[c.Name] {
			t.Errorf("Delete left cookie %s", c.Name)
		}
	}
}

func TestLifetime(t *testing.T) {
	l := Lifetime{Idle: time.Hour, Absolute: 3 * time.Hour}
	var d Data
	l.Stamp(&d, testNow)
	if !d.Expires.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("Expires = %v, want idle timeout", d.Expires)
	}
	if l.NeedsTouch(&d, testNow.Add(time.Second)) {
		t.Fatal("a fresh session needs a touch")
	}
	if !l.NeedsTouch(&d, testNow.Add(5*time.Minute)) {
		t.Fatal("a stale session does not need a touch")
	}
	l.Stamp(&d, testNow.Add(150*time.Minute))
	if !d.Expires.Equal(testNow.Add(3 * time.Hour)) {
		t.Fatalf("Expires = %v, want the absolute timeout", d.Expires)
	}
	if l.NeedsTouch(&d, testNow.Add(170*time.Minute)) {
		t.Fatal("a session at its absolute timeout still gets touched")
	}
}

func TestNewCookieStoreValidatesKeys(t *testing.T) {
	for _, keys := range [][]KeyPair{nil, {{HashKey: []byte("short"), BlockKey: testKey1.BlockKey}}, {{HashKey: testKey1.HashKey, BlockKey: []byte("bad")}}} {
		if _, err := NewCookieStore(CookieOptions{Keys: keys}); err == nil {
			t.Errorf("keys %v accepted", keys)
		}
	}
}

func TestCookieStoreOnHTTPSUsesHostPrefix(t *testing.T) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, Secure: true, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	cookies := saved(t, s, sampleData(6<<10))
	for i, c := range cookies {
		if want := chunkName("__Host-endsession", i); c.Name != want || !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly {
			t.Errorf("cookie %d = %s (Secure %v, Path %q, Domain %q); want %s, Secure, Path=/ and no Domain", i, c.Name, c.Secure, c.Path, c.Domain, want)
		}
	}
	if d, err := s.Load(requestWith(cookies...)); err != nil || d == nil {
		t.Fatalf("Load = %v, %v", d, err)
	}
}
