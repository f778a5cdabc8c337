package providers_test

import (
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	authentikHost   = "authentik.example.org"
	authentikSlug   = "wiki"
	authentikClient = "Qm9uam91ciBhdXRoZW50aWs"
	authentikSecret = "authentik-secret"
)

// authentikFake stands for an authentik OAuth2/OpenID provider bound to
// the application "wiki": the issuer and discovery per application, the
// shared /application/o/ authorize, token, userinfo and revoke endpoints,
// the application's end-session and keys, and a logout that needs
// id_token_hint with post_logout_redirect_uri and returns state.
func authentikFake(t *testing.T) *fakeOP {
	op := newFakeOP(t, "https://"+authentikHost+"/application/o/"+authentikSlug+"/", authentikClient, authentikSecret)
	op.base = "https://" + authentikHost
	op.endSession = true
	op.logoutNeeds = []string{"id_token_hint"}
	app := "/application/o/" + authentikSlug
	op.paths = opPaths{
		Discovery: app + "/.well-known/openid-configuration",
		Authorize: "/application/o/authorize/", Token: "/application/o/token/", UserInfo: "/application/o/userinfo/",
		Revocation: "/application/o/revoke/", JWKS: app + "/jwks/", Logout: app + "/end-session/",
	}
	return op
}

// TestAuthentikLoginLogout is the golden login and logout of an authentik
// application: the issuer with its trailing slash, HTTP Basic at
// /application/o/token/, and a logout by GET at
// /application/o/{slug}/end-session/ with id_token_hint,
// post_logout_redirect_uri and state.
func TestAuthentikLoginLogout(t *testing.T) {
	p := providers.Authentik("https://"+authentikHost, authentikSlug, authentikClient, authentikSecret)
	if p.Name != "authentik" || p.Issuer != "https://authentik.example.org/application/o/wiki/" {
		t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
	}
	op := authentikFake(t)
	n := newInternet()
	n.handle(authentikHost, op)
	runGolden(t, n, op, p, golden{
		Discovery: "https://authentik.example.org/application/o/wiki/.well-known/openid-configuration",
		Authorize: "https://authentik.example.org/application/o/authorize/",
		AuthQuery: authQuery(authentikClient, "openid profile email"),
		Token:     "https://authentik.example.org/application/o/token/",
		Auth:      "basic",
		TokenBody: codeBody("basic", authentikClient, authentikSecret),
		Logout:    "https://authentik.example.org/application/o/wiki/end-session/",
		LogoutQuery: map[string]string{
			"id_token_hint": "{id_token}", "post_logout_redirect_uri": "{landing}", "state": anyValue,
		},
	})
}
