package providers_test

import (
	"context"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	oktaDomain = "dev-123456.okta.com"
	oktaClient = "0oa1b2c3d4e5f6g7h8i9"
	oktaSecret = "okta-secret"
)

// oktaFake stands for an Okta authorization server: the org one, at the
// domain's root with its endpoints under /oauth2/v1, or a custom one,
// with its own under /oauth2/{id}/v1. Client authentication is HTTP
// Basic, and the logout refuses a request without id_token_hint.
func oktaFake(t *testing.T, server string) *fakeOP {
	issuer, prefix := "https://"+oktaDomain, "/oauth2/v1"
	discovery := "/.well-known/openid-configuration"
	if server != "" {
		issuer += "/oauth2/" + server
		prefix = "/oauth2/" + server + "/v1"
		discovery = "/oauth2/" + server + discovery
	}
	op := newFakeOP(t, issuer, oktaClient, oktaSecret)
	op.base = "https://" + oktaDomain
	op.endSession = true
	op.logoutNeeds = []string{"id_token_hint"}
	op.paths = opPaths{
		Discovery: discovery,
		Authorize: prefix + "/authorize", Token: prefix + "/token", JWKS: prefix + "/keys",
		UserInfo: prefix + "/userinfo", Logout: prefix + "/logout", Revocation: prefix + "/revoke",
	}
	return op
}

// TestOktaLoginLogout is the golden login and logout at Okta's org
// authorization server and at a custom one ("default"): HTTP Basic at the
// token endpoint, and a logout by GET with id_token_hint (required),
// post_logout_redirect_uri and state. The tokens are revoked at /v1/revoke.
func TestOktaLoginLogout(t *testing.T) {
	for _, tc := range []struct{ name, server, issuer, prefix string }{
		{"org", "", "https://dev-123456.okta.com", "https://dev-123456.okta.com/oauth2/v1"},
		{"custom", "default", "https://dev-123456.okta.com/oauth2/default", "https://dev-123456.okta.com/oauth2/default/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.Okta(oktaDomain, tc.server, oktaClient, oktaSecret)
			if p.Name != "okta" || p.Issuer != tc.issuer {
				t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
			}
			op := oktaFake(t, tc.server)
			n := newInternet()
			n.handle(oktaDomain, op)
			runGolden(t, n, op, p, golden{
				Discovery: tc.issuer + "/.well-known/openid-configuration",
				Authorize: tc.prefix + "/authorize",
				AuthQuery: authQuery(oktaClient, "openid profile email"),
				Token:     tc.prefix + "/token",
				Auth:      "basic",
				TokenBody: codeBody("basic", oktaClient, oktaSecret),
				Logout:    tc.prefix + "/logout",
				LogoutQuery: map[string]string{
					"id_token_hint": "{id_token}", "post_logout_redirect_uri": "{landing}", "state": anyValue,
				},
			})
			if rs := op.requests("revocation"); len(rs) != 1 || rs[0].URL != tc.prefix+"/revoke" {
				t.Errorf("revocations: %+v", rs)
			}
		})
	}
}

// TestOktaNoIDToken: Okta refuses a logout without id_token_hint, so a
// session without an ID token ends locally, with the notice.
func TestOktaNoIDToken(t *testing.T) {
	p := providers.Okta(oktaDomain, "", oktaClient, oktaSecret)
	act, err := p.Logout.EndSession(context.Background(), &providers.LogoutRequest{
		Endpoints: providers.Endpoints{EndSessionURL: "https://dev-123456.okta.com/oauth2/v1/logout"},
		ClientID:  oktaClient, ReturnURL: "https://app.example/auth/logged-out", State: "ST",
	})
	if err != nil || act.Method != "" || act.Notice != providers.NoticeLocalOnly {
		t.Errorf("%+v, %v; want a local logout with the notice", act, err)
	}
}
