package providers_test

import (
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	dexHost   = "dex.example.org"
	dexClient = "example-app"
	dexSecret = "ZXhhbXBsZS1hcHAtc2VjcmV0"
)

// dexFake stands for a released Dex: discovery under its issuer (here
// with the /dex path of its examples), HTTP Basic client authentication,
// refresh tokens for offline_access, and no end_session_endpoint nor
// revocation endpoint.
func dexFake(t *testing.T) *fakeOP {
	op := newFakeOP(t, "https://"+dexHost+"/dex", dexClient, dexSecret)
	op.base = "https://" + dexHost
	op.refresh = true
	op.paths = opPaths{
		Discovery: "/dex/.well-known/openid-configuration",
		Authorize: "/dex/auth", Token: "/dex/token", JWKS: "/dex/keys", UserInfo: "/dex/userinfo",
	}
	return op
}

// TestDexLoginLogout is the golden login at Dex and its logout: Dex has
// no logout endpoint, so the session ends here only and the user lands
// with the "local-only" notice; nothing is sent to Dex.
func TestDexLoginLogout(t *testing.T) {
	p := providers.Dex("https://"+dexHost+"/dex", dexClient, dexSecret)
	if p.Name != "dex" {
		t.Fatalf("Name %q", p.Name)
	}
	op := dexFake(t)
	n := newInternet()
	n.handle(dexHost, op)
	runGolden(t, n, op, p, golden{
		Discovery: "https://dex.example.org/dex/.well-known/openid-configuration",
		Authorize: "https://dex.example.org/dex/auth",
		AuthQuery: authQuery(dexClient, "openid profile email offline_access"),
		Token:     "https://dex.example.org/dex/token",
		Auth:      "basic",
		TokenBody: codeBody("basic", dexClient, dexSecret),
	})
	if n := len(op.requests("revocation")); n != 0 {
		t.Errorf("%d revocation requests", n)
	}
}

// TestDexEndSession: a Dex that advertises an end_session_endpoint (not
// a released version) gets an RP-Initiated Logout there.
func TestDexEndSession(t *testing.T) {
	p := providers.Dex("https://"+dexHost+"/dex", dexClient, dexSecret)
	op := dexFake(t)
	op.endSession = true
	op.paths.Logout = "/dex/logout"
	n := newInternet()
	n.handle(dexHost, op)
	runGolden(t, n, op, p, golden{
		Authorize: "https://dex.example.org/dex/auth",
		AuthQuery: authQuery(dexClient, "openid profile email offline_access"),
		Token:     "https://dex.example.org/dex/token",
		Auth:      "basic",
		TokenBody: codeBody("basic", dexClient, dexSecret),
		Logout:    "https://dex.example.org/dex/logout",
		LogoutQuery: map[string]string{
			"id_token_hint": "{id_token}", "post_logout_redirect_uri": "{landing}", "state": anyValue, "client_id": dexClient,
		},
	})
}
