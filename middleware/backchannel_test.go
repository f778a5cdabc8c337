package middleware

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestMemoryReplayCache(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newMemoryReplayCache(func() time.Time { return now })
	ctx := context.Background()
	seen := func(key string, until time.Time) bool {
		t.Helper()
		s, err := c.Seen(ctx, key, until)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if seen("a", now.Add(time.Minute)) {
		t.Fatal("a new key was seen")
	}
	if !seen("a", now.Add(time.Minute)) {
		t.Fatal("a replayed key was not seen")
	}
	c.Forget(ctx, "a")
	if seen("a", now.Add(time.Minute)) {
		t.Fatal("a forgotten key was seen")
	}
	now = now.Add(2 * time.Minute)
	if seen("a", now.Add(time.Minute)) {
		t.Fatal("a key past its time was seen")
	}

	// Full: the expired keys go first, then the one that lapses first.
	c = newMemoryReplayCache(func() time.Time { return now })
	c.max = 3
	seen("old", now.Add(-time.Second))
	seen("soon", now.Add(time.Second))
	seen("late", now.Add(time.Hour))
	seen("new1", now.Add(time.Hour)) // drops "old"
	if _, ok := c.keys["old"]; ok || len(c.keys) != 3 {
		t.Fatalf("keys %v", c.keys)
	}
	seen("new2", now.Add(time.Hour)) // drops "soon"
	if _, ok := c.keys["soon"]; ok || len(c.keys) != 3 {
		t.Fatalf("keys %v", c.keys)
	}
	if !seen("late", now.Add(time.Hour)) {
		t.Fatal("a live key was dropped before one that lapses sooner")
	}
}

func TestAsymmetricAlgs(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{nil, []string{"RS256"}},
		{[]string{"RS256", "HS256", "none", "ES256", "hs512", "NONE"}, []string{"RS256", "ES256"}},
		{[]string{"HS256"}, nil},
	} {
		if got := asymmetricAlgs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("asymmetricAlgs(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCheckLogoutClaims(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := newTestMiddleware(t, &fakeStore{}, Config{Now: func() time.Time { return now }})
	p := m.providers["op"]
	num := func(t time.Time) *float64 { f := float64(t.Unix()); return &f }
	valid := func() *logoutClaims {
		return &logoutClaims{
			Issuer: "https://op.invalid", Audience: []byte(`["c","other"]`), IssuedAt: num(now),
			Expiry: num(now.Add(2 * time.Minute)), JTI: "j", SID: "s",
			Events: map[string]json.RawMessage{backchannelEvent: json.RawMessage(`{}`)},
		}
	}
	if err := m.checkLogoutClaims(p, valid()); err != nil {
		t.Fatalf("valid claims: %v", err)
	}
	for name, edit := range map[string]func(*logoutClaims){
		"issuer":           func(c *logoutClaims) { c.Issuer = "https://op.invalid/" },
		"audience":         func(c *logoutClaims) { c.Audience = []byte(`"other"`) },
		"audience type":    func(c *logoutClaims) { c.Audience = []byte(`1`) },
		"no iat":           func(c *logoutClaims) { c.IssuedAt = nil },
		"future iat":       func(c *logoutClaims) { c.IssuedAt = num(now.Add(2 * clockSkew)) },
		"expired":          func(c *logoutClaims) { c.Expiry = num(now) },
		"old iat, no exp":  func(c *logoutClaims) { c.Expiry, c.IssuedAt = nil, num(now.Add(-3*time.Minute)) },
		"no jti":           func(c *logoutClaims) { c.JTI = "" },
		"no event":         func(c *logoutClaims) { c.Events = nil },
		"event not object": func(c *logoutClaims) { c.Events[backchannelEvent] = []byte(`[]`) },
		"event null":       func(c *logoutClaims) { c.Events[backchannelEvent] = []byte(`null`) },
		"no sid nor sub":   func(c *logoutClaims) { c.SID = "" },
		"nonce":            func(c *logoutClaims) { c.Nonce = []byte(`"n"`) },
		"nonce null":       func(c *logoutClaims) { c.Nonce = []byte(`null`) },
		"iat out of range": func(c *logoutClaims) { f := 1e300; c.IssuedAt = &f },
	} {
		c := valid()
		edit(c)
		if err := m.checkLogoutClaims(p, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := valid()
	c.Expiry, c.IssuedAt = nil, num(now.Add(-time.Minute))
	if err := m.checkLogoutClaims(p, c); err != nil {
		t.Errorf("a recent token without exp: %v", err)
	}
	if got := fmt.Sprint(c.until(m.cfg.LogoutTokenMaxAge)); got != fmt.Sprint(now.Add(time.Minute)) {
		t.Errorf("a token without exp is remembered until %s", got)
	}
}
