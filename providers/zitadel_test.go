package providers_test

import (
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	zitadelHost   = "acme-x1y2z3.zitadel.cloud"
	zitadelClient = "285472891034567890@acme"
	zitadelSecret = "zitadel-secret"
)

// zitadelFake stands for a ZITADEL instance: discovery at the instance's
// root, its /oauth/v2 and /oidc/v1 endpoints, HTTP Basic client
// authentication, and an end_session endpoint that takes client_id.
func zitadelFake(t *testing.T) *fakeOP {
	op := newFakeOP(t, "https://"+zitadelHost, zitadelClient, zitadelSecret)
	op.base = "https://" + zitadelHost
	op.endSession = true
	op.paths = opPaths{
		Discovery: "/.well-known/openid-configuration",
		Authorize: "/oauth/v2/authorize", Token: "/oauth/v2/token", JWKS: "/oauth/v2/keys",
		UserInfo: "/oidc/v1/userinfo", Logout: "/oidc/v1/end_session", Revocation: "/oauth/v2/revoke",
	}
	return op
}

// TestZitadelLoginLogout is the golden login and logout of a ZITADEL
// instance: HTTP Basic at /oauth/v2/token, and a logout by GET at
// /oidc/v1/end_session with id_token_hint, post_logout_redirect_uri,
// state and client_id.
func TestZitadelLoginLogout(t *testing.T) {
	p := providers.Zitadel("https://"+zitadelHost, zitadelClient, zitadelSecret)
	if p.Name != "zitadel" || p.Issuer != "https://"+zitadelHost {
		t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
	}
	op := zitadelFake(t)
	n := newInternet()
	n.handle(zitadelHost, op)
	runGolden(t, n, op, p, golden{
		Discovery: "https://" + zitadelHost + "/.well-known/openid-configuration",
		Authorize: "https://" + zitadelHost + "/oauth/v2/authorize",
		AuthQuery: authQuery(zitadelClient, "openid profile email"),
		Token:     "https://" + zitadelHost + "/oauth/v2/token",
		Auth:      "basic",
		TokenBody: codeBody("basic", zitadelClient, zitadelSecret),
		Logout:    "https://" + zitadelHost + "/oidc/v1/end_session",
		LogoutQuery: map[string]string{
			"id_token_hint": "{id_token}", "post_logout_redirect_uri": "{landing}", "state": anyValue, "client_id": zitadelClient,
		},
	})
}
