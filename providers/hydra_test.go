package providers_test

import (
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	hydraHost   = "auth.example.org"
	hydraClient = "5c5f1c5e-3b8a-4c4f-9a7e-2f1d0e9b8a7c"
	hydraSecret = "hydra-secret"
)

// hydraFake stands for Ory Hydra (self-hosted, or Ory Network's OAuth2):
// its /oauth2 endpoints, HTTP Basic client authentication, refresh tokens
// for offline_access, and a logout at /oauth2/sessions/logout that needs
// id_token_hint with post_logout_redirect_uri and returns state.
func hydraFake(t *testing.T) *fakeOP {
	op := newFakeOP(t, "https://"+hydraHost, hydraClient, hydraSecret)
	op.base = "https://" + hydraHost
	op.endSession = true
	op.refresh = true
	op.logoutNeeds = []string{"id_token_hint"}
	op.paths = opPaths{
		Discovery: "/.well-known/openid-configuration",
		Authorize: "/oauth2/auth", Token: "/oauth2/token", JWKS: "/.well-known/jwks.json",
		UserInfo: "/userinfo", Logout: "/oauth2/sessions/logout", Revocation: "/oauth2/revoke",
	}
	return op
}

// TestHydraLoginLogout is the golden login and logout at Ory Hydra:
// the scopes a default Hydra client allows ("openid offline_access"),
// HTTP Basic at /oauth2/token, a logout by GET at /oauth2/sessions/logout
// with id_token_hint, post_logout_redirect_uri and state, and the
// tokens revoked at /oauth2/revoke.
func TestHydraLoginLogout(t *testing.T) {
	p := providers.Hydra("https://"+hydraHost, hydraClient, hydraSecret)
	if p.Name != "hydra" || p.Issuer != "https://"+hydraHost {
		t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
	}
	op := hydraFake(t)
	n := newInternet()
	n.handle(hydraHost, op)
	runGolden(t, n, op, p, golden{
		Discovery: "https://" + hydraHost + "/.well-known/openid-configuration",
		Authorize: "https://" + hydraHost + "/oauth2/auth",
		AuthQuery: authQuery(hydraClient, "openid offline_access"),
		Token:     "https://" + hydraHost + "/oauth2/token",
		Auth:      "basic",
		TokenBody: codeBody("basic", hydraClient, hydraSecret),
		Logout:    "https://" + hydraHost + "/oauth2/sessions/logout",
		LogoutQuery: map[string]string{
			"id_token_hint": "{id_token}", "post_logout_redirect_uri": "{landing}", "state": anyValue,
		},
	})
	if n := len(op.requests("revocation")); n != 2 {
		t.Errorf("%d revocation requests, want 2 (refresh and access tokens)", n)
	}
}
