package endsession_test

// When refresh happens: the margin before expiry, short-lived tokens, the
// provider's extra token parameters, and sessions without a refresh token.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
)

// An access token shorter than the refresh margin is refreshed once in
// its life, not at every request.
func TestShortAccessTokenIsRefreshedOncePerLifetime(t *testing.T) {
	s := newStack(t, withOP(func(op *devprovider.Config) {
		op.AccessTokenTTL = 8 * time.Second
		op.RefreshTokens = devprovider.RefreshAlways
	}))
	s.login()
	s.op.ResetRequests()
	// 24 requests a second apart: three lifetimes of the token.
	for i := range 24 {
		s.advance(time.Second)
		if resp := s.get("/token"); resp.StatusCode != http.StatusOK || body(resp) == "no token" {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body(resp))
		}
	}
	if n := s.refreshGrants(); n < 3 || n > 4 {
		t.Fatalf("24 requests over three lifetimes of an 8 s token made %d refreshes, want 3 or 4", n)
	}
}

// Config.RefreshMargin moves the refresh before the expiry.
func TestRefreshMarginIsConfigurable(t *testing.T) {
	s := newStack(t,
		withOP(func(op *devprovider.Config) { op.AccessTokenTTL = 10 * time.Minute }),
		withMW(func(c *middleware.Config) { c.RefreshMargin = 2 * time.Minute }),
	)
	s.login()
	s.op.ResetRequests()
	s.advance(7 * time.Minute)
	s.get("/profile")
	if n := s.refreshGrants(); n != 0 {
		t.Fatalf("3 minutes before expiry: %d refreshes", n)
	}
	s.advance(90 * time.Second)
	s.get("/profile")
	if n := s.refreshGrants(); n != 1 {
		t.Fatalf("90 seconds before expiry with a 2 minute margin: %d refreshes", n)
	}
}

// Refresh sends Provider.TokenParams, as the code exchange does.
func TestRefreshSendsTokenParams(t *testing.T) {
	s := newStack(t,
		withOP(func(op *devprovider.Config) { op.AccessTokenTTL = time.Minute }),
		withMW(func(c *middleware.Config) {
			c.Providers[0].TokenParams = url.Values{"resource": {"https://api.example"}, "audience": {"a", "b"}}
		}),
	)
	s.login()
	s.advance(time.Minute)
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the refresh: %d", resp.StatusCode)
	}
	seen := 0
	for _, r := range s.op.Requests() {
		if !strings.HasSuffix(r.Path, "/token") {
			continue
		}
		if got := r.Form["audience"]; r.Form.Get("resource") != "https://api.example" || len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Errorf("%s grant without the token parameters: %v", r.Form.Get("grant_type"), r.Form)
		}
		if r.Form.Get("refresh_token") == "" && r.Form.Get("grant_type") == "refresh_token" {
			t.Error("the refresh lost its refresh token")
		}
		seen++
	}
	if seen != 2 || s.refreshGrants() != 1 {
		t.Fatalf("%d token requests, %d refreshes", seen, s.refreshGrants())
	}
}

// Without a refresh token the session goes on past the access token's
// expiry, and TokenFromContext says there is no token; with
// ExpiredTokenEndsSession the user signs in again.
func TestSessionWithoutRefreshToken(t *testing.T) {
	for _, ends := range []bool{false, true} {
		t.Run(map[bool]string{false: "kept", true: "ended"}[ends], func(t *testing.T) {
			s := newStack(t,
				withOP(func(op *devprovider.Config) {
					op.AccessTokenTTL = time.Minute
					op.RefreshTokens = devprovider.RefreshNever
				}),
				withMW(func(c *middleware.Config) { c.ExpiredTokenEndsSession = ends }),
			)
			s.login()
			if resp := s.get("/token"); body(resp) == "no token" {
				t.Fatal("no token before it expired")
			}
			s.advance(time.Minute)
			resp := s.get("/token")
			if ends {
				if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") || len(s.sessionCookies()) != 0 {
					t.Fatalf("with an expired access token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
				}
				s.mu.Lock()
				defer s.mu.Unlock()
				if len(s.events) != 1 || s.events[0].Reason != middleware.ReasonExpired || s.events[0].Subject != "alice" {
					t.Fatalf("OnLogout got %+v, want one expiry of alice's session", s.events)
				}
				return
			}
			if resp.StatusCode != http.StatusOK || body(resp) != "no token" {
				t.Fatalf("an expired access token handed out: %d %s", resp.StatusCode, body(resp))
			}
			if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
				t.Fatalf("the session did not go on: %d", resp.StatusCode)
			}
			if s.refreshGrants() != 0 {
				t.Fatal("a refresh without a refresh token")
			}
		})
	}
}
