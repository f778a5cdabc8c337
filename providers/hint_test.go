package providers_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// TestRefreshForTheHint: at logout with an expired ID token and a refresh
// token, a provider that documents accepting an expired id_token_hint
// (Decathlon) gets the stored ID token and no token request; one that
// does not (any OpenID provider by default) gets a fresh one.
func TestRefreshForTheHint(t *testing.T) {
	cases := []struct {
		name    string
		host    string
		refresh bool // a refresh is expected before the logout
		build   func() (providers.Provider, *fakeOP)
	}{
		{"Decathlon: expired hint accepted", "api-global.decathlon.net", false, func() (providers.Provider, *fakeOP) {
			p := providers.Decathlon(providers.DecathlonConfig{ClientID: dktClient, ClientSecret: dktSecret})
			return p, decathlonFake(t, p.Issuer)
		}},
		{"OpenID provider: refreshed", "op.example.com", true, func() (providers.Provider, *fakeOP) {
			p := providers.OIDC("corp", "https://op.example.com", "corp-app", "corp-secret")
			return p, oidcHintFake(t)
		}},
		{"OpenID provider with ExpiredHintAccepted", "op.example.com", false, func() (providers.Provider, *fakeOP) {
			p := providers.OIDC("corp", "https://op.example.com", "corp-app", "corp-secret")
			p.ExpiredHintAccepted = true
			return p, oidcHintFake(t)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, op := tc.build()
			op.refresh = true
			op.idTTL = 2 * time.Minute
			n := newInternet()
			n.handle(tc.host, op)
			n.handle("api-eu.decathlon.net", op)
			var skew atomic.Int64
			a := newApp(t, n, func(c *middleware.Config) {
				c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			}, p)
			a.login(p.Name)
			d, ok := a.session()
			if !ok || d.RefreshToken == "" {
				t.Fatalf("no session with a refresh token: %+v", d)
			}
			// The stored ID token has expired; one issued now would not.
			skew.Store(int64(10 * time.Minute))
			op.idTTL = time.Hour

			_, q := splitURL(t, a.expectRedirect(a.logout("")))
			refreshes := 0
			for _, r := range op.requests("token") {
				if r.Form.Get("grant_type") == "refresh_token" {
					refreshes++
				}
			}
			hint := q.Get("id_token_hint")
			switch {
			case tc.refresh && (refreshes != 1 || hint == d.IDToken || hint == ""):
				t.Errorf("%d refreshes, hint is the stored one: %v; want a fresh ID token", refreshes, hint == d.IDToken)
			case !tc.refresh && (refreshes != 0 || hint != d.IDToken):
				t.Errorf("%d refreshes, hint is the stored one: %v; want the stored, expired one and no token request", refreshes, hint == d.IDToken)
			}
			_, stepped := stepsOf(a.lastReport())["provider.refresh_id_token"]
			if stepped != tc.refresh {
				t.Errorf("report has the refresh step: %v", stepped)
			}
		})
	}
}

// oidcHintFake is a standard OpenID provider with discovery and an
// end_session_endpoint.
func oidcHintFake(t *testing.T) *fakeOP {
	op := newFakeOP(t, "https://op.example.com", "corp-app", "corp-secret")
	op.base = "https://op.example.com"
	op.endSession = true
	op.paths = opPaths{
		Discovery: "/.well-known/openid-configuration", Authorize: "/authorize", Token: "/token",
		JWKS: "/jwks", Logout: "/logout",
	}
	return op
}
