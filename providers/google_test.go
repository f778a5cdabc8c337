package providers_test

import (
	"net/http"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	googleClient = "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"
	googleSecret = "GOCSPX-google-secret"
)

// googleFake stands for Google's OpenID endpoints, spread over four
// hosts as its discovery document lists them, with no
// end_session_endpoint. Its revocation endpoint revokes the whole grant
// for any token of it, and answers 400 for a token it does not know,
// one already revoked included.
type googleFake struct{ *fakeOP }

var googleHosts = []string{"accounts.google.com", "oauth2.googleapis.com", "www.googleapis.com", "openidconnect.googleapis.com"}

func newGoogleFake(t *testing.T) *googleFake {
	op := newFakeOP(t, "https://accounts.google.com", googleClient, googleSecret)
	op.base = "https://accounts.google.com"
	op.auth = "post"
	op.callbackIss = "https://accounts.google.com"
	op.paths = opPaths{
		Discovery: "/.well-known/openid-configuration", Authorize: "/o/oauth2/v2/auth", Token: "/token",
		JWKS: "/oauth2/v3/certs", UserInfo: "/v1/userinfo", Revocation: "/revoke",
	}
	op.doc = map[string]any{
		"token_endpoint":      "https://oauth2.googleapis.com/token",
		"jwks_uri":            "https://www.googleapis.com/oauth2/v3/certs",
		"userinfo_endpoint":   "https://openidconnect.googleapis.com/v1/userinfo",
		"revocation_endpoint": "https://oauth2.googleapis.com/revoke",
	}
	return &googleFake{op}
}

func (f *googleFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/revoke" {
		f.fakeOP.ServeHTTP(w, r)
		return
	}
	rec := record("revocation", r)
	f.mu.Lock()
	f.log = append(f.log, rec)
	token := rec.Form.Get("token")
	known := f.rts[token] || f.tokens[token]
	if known {
		// The grant goes: every token of it.
		clear(f.rts)
		clear(f.tokens)
	}
	f.mu.Unlock()
	if r.Method != http.MethodPost || !known {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_token", "error_description": "Token expired or revoked"})
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (f *googleFake) serve(n *internet) {
	for _, h := range googleHosts {
		n.handle(h, f)
	}
}

// TestGoogleLoginLogout is the golden login at Google, with
// access_type=offline for a refresh token and the secret in the body,
// and its logout: Google has no end_session_endpoint, so the user lands
// with the "local-only" notice (Google stays signed in), after the
// grant is revoked at https://oauth2.googleapis.com/revoke with one
// token, which revokes the others: the refresh token when there is one,
// the access token otherwise. A second revocation would get a 400.
func TestGoogleLoginLogout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refresh bool
	}{{"refresh token", true}, {"access token only", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.Google(googleClient, googleSecret)
			if p.Name != "google" || p.Issuer != "https://accounts.google.com" {
				t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
			}
			f := newGoogleFake(t)
			f.refresh = tc.refresh
			n := newInternet()
			f.serve(n)
			a, d := runGolden(t, n, f.fakeOP, p, golden{
				Discovery: "https://accounts.google.com/.well-known/openid-configuration",
				Authorize: "https://accounts.google.com/o/oauth2/v2/auth",
				AuthQuery: authQuery(googleClient, "openid profile email", "access_type", "offline"),
				Token:     "https://oauth2.googleapis.com/token",
				Auth:      "post",
				TokenBody: codeBody("post", googleClient, googleSecret),
			})
			rs := f.requests("revocation")
			if len(rs) != 1 {
				t.Fatalf("%d revocation requests, want 1", len(rs))
			}
			want, hint := d.AccessToken, "access_token"
			if tc.refresh {
				want, hint = d.RefreshToken, "refresh_token"
			}
			if rs[0].URL != "https://oauth2.googleapis.com/revoke" || rs[0].Form.Get("token") != want || rs[0].Form.Get("token_type_hint") != hint {
				t.Errorf("revocation %s with %s", rs[0].URL, rs[0].Form.Get("token_type_hint"))
			}
			if steps := stepsOf(a.lastReport()); !steps["provider.revoke"] {
				t.Errorf("revocation not reported done: %+v", a.lastReport().Steps)
			}
		})
	}
}
