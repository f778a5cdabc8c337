package endsession_test

// End-to-end tests of what logout does with the tokens: a fresh ID token
// for the hint, and revocation.

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
)

func jwtExpiry(t *testing.T, jwt string) time.Time {
	t.Helper()
	return time.Unix(int64(jwtClaim(t, jwt, "exp").(float64)), 0)
}

func TestLogoutRefreshesAnExpiredIDTokenForTheHint(t *testing.T) {
	// The provider's clock is the middleware's: advancing it expires the
	// ID token without a race against a real second.
	s := newStack(t, withOP(func(op *devprovider.Config) { op.IDTokenTTL = time.Minute }))
	s.login()
	s.advance(time.Minute + time.Second)
	end := s.logoutRedirect()
	hint := end.Query().Get("id_token_hint")
	if !jwtExpiry(t, hint).After(s.now()) {
		t.Fatal("the hint is the expired ID token, not a fresh one")
	}
	if s.refreshGrants() != 1 {
		t.Errorf("%d refreshes at logout, want 1", s.refreshGrants())
	}
	resp, visited := s.follow(s.get(end.String()))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(visited[0], s.appURL+"/auth/logged-out?state=") {
		t.Fatalf("the provider refused the fresh hint: %d %v", resp.StatusCode, visited)
	}
	step := s.step(t, "provider.refresh_id_token")
	if !step.OK {
		t.Errorf("step %+v", step)
	}
}

// step returns the named step of the last logout report.
func (s *stack) step(t *testing.T, name string) middleware.LogoutStep {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reports) == 0 {
		t.Fatal("no logout report")
	}
	rep := s.reports[len(s.reports)-1]
	for _, st := range rep.Steps {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no step %s in %+v", name, rep.Steps)
	return middleware.LogoutStep{}
}

func TestLogoutRevokesTheTokens(t *testing.T) {
	for _, method := range []string{devprovider.AuthSecretBasic, devprovider.AuthSecretPost} {
		t.Run(method, func(t *testing.T) {
			s := newStack(t,
				withOP(func(op *devprovider.Config) { op.Clients[0].AuthMethod = method }),
				withMW(func(c *middleware.Config) {
					if method == devprovider.AuthSecretPost {
						c.Providers[0].AuthMethod = "client_secret_post"
					}
				}),
			)
			s.login()
			s.op.ResetRequests()
			s.logoutRedirect()
			var hints []string
			for _, r := range s.op.Requests() {
				if !strings.HasSuffix(r.Path, "/revoke") {
					continue
				}
				hints = append(hints, r.Form.Get("token_type_hint"))
				if r.Form.Get("token") == "" {
					t.Error("a revocation without a token")
				}
				u, p, basic := (&http.Request{Header: r.Header}).BasicAuth()
				switch method {
				case devprovider.AuthSecretBasic:
					if !basic || u != "app" || p != "app-secret" || r.Form.Has("client_secret") {
						t.Errorf("revocation not authenticated with client_secret_basic: %v", r.Header)
					}
				case devprovider.AuthSecretPost:
					if basic || r.Form.Get("client_id") != "app" || r.Form.Get("client_secret") != "app-secret" {
						t.Errorf("revocation not authenticated with client_secret_post")
					}
				}
			}
			// Side by side, in either order.
			slices.Sort(hints)
			if strings.Join(hints, ",") != "access_token,refresh_token" {
				t.Fatalf("revoked %v, want the refresh token and the access token", hints)
			}
			if st := s.step(t, "provider.revoke"); !st.OK || st.Detail != "revoked: refresh_token access_token" {
				t.Errorf("step %+v", st)
			}
		})
	}
}

func TestLogoutWithRevocationDown(t *testing.T) {
	s := newStack(t)
	s.login()
	s.op.Fail(devprovider.Revocation, devprovider.Fault{Status: http.StatusServiceUnavailable})
	end := s.logoutRedirect() // checks the cookies expired and the redirect to the provider
	if st := s.step(t, "provider.revoke"); st.OK || !strings.Contains(st.Detail, "503") {
		t.Errorf("step %+v, want a failure naming the 503", st)
	}
	if resp, _ := s.follow(s.get(end.String())); resp.StatusCode != http.StatusOK {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}
	if !s.loggedOut() {
		t.Fatal("still logged in")
	}
	if !strings.Contains(s.logs.String(), "token revocation failed") {
		t.Error("the failed revocation was not logged")
	}
}

func TestLogsHoldNoTokensAfterRefreshAndRevocation(t *testing.T) {
	s := newStack(t, withOP(func(op *devprovider.Config) {
		op.AccessTokenTTL = time.Minute
		op.IDTokenTTL = time.Minute
	}))
	s.login()
	s.advance(time.Minute + time.Second) // the next request refreshes
	s.get("/profile")
	if s.refreshGrants() != 1 {
		t.Fatalf("%d refreshes, want 1", s.refreshGrants())
	}
	s.advance(time.Minute + time.Second) // the logout refreshes for its hint
	s.op.Fail(devprovider.Revocation, devprovider.Fault{Status: http.StatusBadGateway})
	s.logoutRedirect()
	logs := s.logs.String()
	for _, r := range s.op.Requests() {
		for _, k := range []string{"refresh_token", "token", "id_token_hint"} {
			if v := r.Form.Get(k); len(v) > 8 && strings.Contains(logs, v) {
				t.Errorf("the logs contain a %s", k)
			}
		}
	}
	if strings.Contains(logs, base64.RawURLEncoding.EncodeToString([]byte(`{"alg"`))) {
		t.Error("the logs contain a JWT")
	}
}
