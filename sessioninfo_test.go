package endsession_test

// End-to-end tests of the session-info route: what a single-page
// application learns of the signed-in user and of the session's end, and
// nothing secret.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
)

// sessionInfo is the session-info route's answer.
type sessionInfo struct {
	Claims    map[string]any `json:"claims"`
	Provider  string         `json:"provider"`
	ExpiresAt time.Time      `json:"expires_at"`
	ExpiresIn int64          `json:"expires_in"`
	Ending    bool           `json:"ending"`
}

// getSessionInfo asks the session-info route, checks the headers every
// answer has, and decodes a 200.
func (s *stack) getSessionInfo(t *testing.T) (int, sessionInfo, string) {
	t.Helper()
	resp := s.get("/auth/session")
	b := body(resp)
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var info sessionInfo
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(b), &info); err != nil {
			t.Fatalf("body %q: %v", b, err)
		}
	} else if !json.Valid([]byte(b)) {
		t.Errorf("%d answer is not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, info, b
}

// TestSessionInfo: signed in, the route gives the allow-listed claims and
// when the session ends, never a token nor the sid; close to the end it
// says the session is ending; asking does not extend the session; signed
// out, and once the session ended, it answers 401 JSON.
func TestSessionInfo(t *testing.T) {
	s := newStack(t, withMW(func(c *middleware.Config) {
		c.SessionInfo = &middleware.SessionInfo{}
		c.Lifetime.Idle = time.Hour
	}))
	status, _, b := s.getSessionInfo(t)
	if status != http.StatusUnauthorized || !strings.Contains(b, `"unauthenticated"`) {
		t.Errorf("signed out: %d %s", status, b)
	}

	s.login()
	status, info, b := s.getSessionInfo(t)
	if status != http.StatusOK {
		t.Fatalf("signed in: %d %s", status, b)
	}
	want := map[string]any{"sub": "alice", "name": "Alice Liddell", "email": "alice@example.com", "email_verified": true}
	if len(info.Claims) != len(want) {
		t.Errorf("claims = %v, want %v", info.Claims, want)
	}
	for k, v := range want {
		if info.Claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, info.Claims[k], v)
		}
	}
	if info.Provider != "dev" || info.Ending || info.ExpiresIn < 3500 || info.ExpiresIn > 3600 {
		t.Errorf("info = %+v", info)
	}
	if d := info.ExpiresAt.Sub(s.now().Add(time.Hour)); d > 2*time.Second || d < -2*time.Second {
		t.Errorf("expires_at %v, want an hour from now", info.ExpiresAt)
	}
	s.assertNoLeak(t, b)
	for _, k := range []string{"sid", "token", "nonce"} {
		if strings.Contains(b, k) {
			t.Errorf("the answer names %q: %s", k, b)
		}
	}

	// Polling does not keep the idle session alive.
	s.advance(56 * time.Minute)
	_, later, _ := s.getSessionInfo(t)
	if !later.ExpiresAt.Equal(info.ExpiresAt) {
		t.Errorf("asking moved the end from %v to %v", info.ExpiresAt, later.ExpiresAt)
	}
	if !later.Ending || later.ExpiresIn > 4*60+2 {
		t.Errorf("four minutes from the end: %+v", later)
	}

	s.advance(5 * time.Minute)
	if status, _, b := s.getSessionInfo(t); status != http.StatusUnauthorized {
		t.Errorf("after the idle timeout: %d %s", status, b)
	}
}

// TestSessionInfoClaimsAndMethods: the configured claims replace the
// default ones; a claim that binds a token or the provider's session is
// refused at start-up; another method than GET answers 405; without
// SessionInfo the route is not served.
func TestSessionInfoClaimsAndMethods(t *testing.T) {
	s := newStack(t, withMW(func(c *middleware.Config) {
		c.SessionInfo = &middleware.SessionInfo{Claims: []string{"sub", "given_name", "family_name"}}
	}))
	s.login()
	status, info, b := s.getSessionInfo(t)
	if status != http.StatusOK || len(info.Claims) != 3 || info.Claims["given_name"] != "Alice" || info.Claims["family_name"] != "Liddell" {
		t.Errorf("configured claims: %d %s", status, b)
	}
	for _, method := range []string{http.MethodPost, http.MethodHead, http.MethodDelete} {
		req, _ := http.NewRequest(method, s.appURL+"/auth/session", nil)
		req.Header.Set("Origin", s.appURL)
		resp := s.do(req)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet {
			t.Errorf("%s: %d, Allow %q", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if s.loggedOut() {
		t.Error("a POST to the session-info route ended the session")
	}

	for _, claim := range []string{"sid", "at_hash", "nonce"} {
		cfg := s.mwCfg
		cfg.SessionInfo = &middleware.SessionInfo{Claims: []string{"sub", claim}}
		if _, err := middleware.New(cfg); err == nil || !strings.Contains(err.Error(), claim) {
			t.Errorf("claim %s: %v", claim, err)
		}
	}

	s.restart(func(c *middleware.Config) { c.SessionInfo = nil })
	if resp := s.get("/auth/session"); strings.Contains(body(resp), "claims") {
		t.Errorf("served without SessionInfo: %s", body(resp))
	}
}
