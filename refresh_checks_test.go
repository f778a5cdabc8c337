package endsession_test

// Refreshed ID tokens pass every check of the login (OpenID Connect Core
// §3.1.3.7) and those of §12.2: same issuer, subject, audience, azp,
// auth_time and nonce as the ID token of the login.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
)

func TestRefreshedIDTokenChecks(t *testing.T) {
	cases := []struct {
		name     string
		accepted bool
		edit     func(s *stack, login, claims map[string]any)
	}{
		{"unchanged", true, func(s *stack, login, claims map[string]any) {}},
		{"the login's nonce", true, func(s *stack, login, claims map[string]any) {
			claims["nonce"] = login["nonce"]
		}},
		{"several audiences and no azp", false, func(s *stack, login, claims map[string]any) {
			claims["aud"] = []string{"app", "other-app"}
			delete(claims, "azp")
		}},
		{"the azp of another client", false, func(s *stack, login, claims map[string]any) {
			claims["azp"] = "other-app"
		}},
		{"another audience", false, func(s *stack, login, claims map[string]any) {
			claims["aud"], claims["azp"] = "other-app", "other-app"
		}},
		{"an audience added", false, func(s *stack, login, claims map[string]any) {
			claims["aud"] = []string{"app", "other-app"}
		}},
		{"iat in the future", false, func(s *stack, login, claims map[string]any) {
			now := s.mwCfg.Now()
			claims["iat"], claims["exp"] = now.Add(time.Hour).Unix(), now.Add(2*time.Hour).Unix()
		}},
		{"iat missing", false, func(s *stack, login, claims map[string]any) {
			delete(claims, "iat")
		}},
		{"expired", false, func(s *stack, login, claims map[string]any) {
			now := s.mwCfg.Now()
			claims["iat"], claims["exp"] = now.Add(-20*time.Minute).Unix(), now.Add(-10*time.Minute).Unix()
		}},
		{"another issuer", false, func(s *stack, login, claims map[string]any) {
			claims["iss"] = "https://evil.example"
		}},
		{"another subject", false, func(s *stack, login, claims map[string]any) {
			claims["sub"] = "mallory"
		}},
		{"sub missing", false, func(s *stack, login, claims map[string]any) {
			delete(claims, "sub")
		}},
		{"a nonce of another login", false, func(s *stack, login, claims map[string]any) {
			claims["nonce"] = "another-nonce"
		}},
		{"another auth_time", false, func(s *stack, login, claims map[string]any) {
			claims["auth_time"] = s.mwCfg.Now().Unix()
		}},
		{"at_hash wrong", false, func(s *stack, login, claims map[string]any) {
			claims["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, withoutUserInfo, withOP(func(op *devprovider.Config) {
				op.AccessTokenTTL = time.Minute
				op.RefreshTokens = devprovider.RefreshAlways
			}))
			var login map[string]any
			s.setTokenHook(func(body, claims map[string]any) { login = claims })
			s.login()
			s.advance(time.Minute)
			refreshed := ""
			s.setTokenHook(func(body, claims map[string]any) {
				tc.edit(s, login, claims)
				body["id_token"] = s.op.SignIDToken(claims)
				refreshed = body["id_token"].(string)
			})
			resp := s.get("/profile")
			if s.refreshGrants() != 1 || refreshed == "" {
				t.Fatalf("%d refreshes", s.refreshGrants())
			}
			if tc.accepted {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("a good refreshed ID token: %d", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
				t.Fatalf("a refreshed ID token with %s: %d %s", tc.name, resp.StatusCode, resp.Header.Get("Location"))
			}
			if len(s.sessionCookies()) != 0 {
				t.Fatal("the session goes on")
			}
			if !strings.Contains(s.logs.String(), "refreshed ID token") {
				t.Error("the refused ID token was not logged")
			}
			s.assertNoLeak(t, body(resp))
		})
	}
}
