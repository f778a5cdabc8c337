package providers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	cognitoPool   = "eu-west-1_AbCdEfGhI"
	cognitoIdP    = "cognito-idp.eu-west-1.amazonaws.com"
	cognitoDomain = "myapp.auth.eu-west-1.amazoncognito.com"
	cognitoClient = "1example23456789abcdefghij"
	cognitoSecret = "cognito0secret0abcdefghijklmnopqrstuvwxyz0123456789"
)

// cognitoFake stands for an Amazon Cognito user pool: discovery and keys
// at cognito-idp.{region}.amazonaws.com/{pool}, the OAuth endpoints on
// the pool's domain, HTTP Basic client authentication, no
// end_session_endpoint in discovery, a /logout that takes client_id and
// logout_uri, the latter among the app client's Allowed sign-out URLs,
// and a revocation endpoint for refresh tokens only.
func cognitoFake(t *testing.T, signOutURLs ...string) *fakeOP {
	op := newFakeOP(t, "https://"+cognitoIdP+"/"+cognitoPool, cognitoClient, cognitoSecret)
	op.base = "https://" + cognitoDomain
	op.refresh = true
	op.revokeRefreshOnly = true
	op.returnParam = "logout_uri"
	op.returnTo = signOutURLs
	op.logoutNeeds = []string{"client_id", "logout_uri"}
	op.paths = opPaths{
		Discovery: "/" + cognitoPool + "/.well-known/openid-configuration",
		JWKS:      "/" + cognitoPool + "/.well-known/jwks.json",
		Authorize: "/oauth2/authorize", Token: "/oauth2/token", UserInfo: "/oauth2/userInfo",
		Logout: "/logout", Revocation: "/oauth2/revoke",
	}
	op.doc = map[string]any{
		"jwks_uri":            "https://" + cognitoIdP + "/" + cognitoPool + "/.well-known/jwks.json",
		"revocation_endpoint": nil,
	}
	return op
}

// TestCognitoLoginLogout is the golden login and logout of a Cognito user
// pool: HTTP Basic at https://{domain}/oauth2/token, and the
// non-standard logout GET https://{domain}/logout?client_id=…&logout_uri=…
// (no id_token_hint, no state), after the refresh token is revoked at
// https://{domain}/oauth2/revoke.
func TestCognitoLoginLogout(t *testing.T) {
	p := providers.Cognito(providers.CognitoConfig{
		UserPoolID: cognitoPool, Domain: "myapp", ClientID: cognitoClient, ClientSecret: cognitoSecret,
	})
	if p.Name != "cognito" || p.Issuer != "https://cognito-idp.eu-west-1.amazonaws.com/"+cognitoPool {
		t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
	}
	n := newInternet()
	// The Allowed sign-out URL is the application's landing URL, known
	// once the application runs: the fake checks what it is given.
	op := cognitoFake(t)
	n.handle(cognitoIdP, op)
	n.handle(cognitoDomain, op)
	a, d := runGolden(t, n, op, p, golden{
		Discovery: "https://" + cognitoIdP + "/" + cognitoPool + "/.well-known/openid-configuration",
		Authorize: "https://" + cognitoDomain + "/oauth2/authorize",
		AuthQuery: authQuery(cognitoClient, "openid profile email"),
		Token:     "https://" + cognitoDomain + "/oauth2/token",
		Auth:      "basic",
		TokenBody: codeBody("basic", cognitoClient, cognitoSecret),
		Logout:    "https://" + cognitoDomain + "/logout",
		LogoutQuery: map[string]string{
			"client_id": cognitoClient, "logout_uri": "{landing}",
		},
	})
	rs := op.requests("revocation")
	if len(rs) != 1 || rs[0].URL != "https://"+cognitoDomain+"/oauth2/revoke" || rs[0].Form.Get("token") != d.RefreshToken {
		t.Fatalf("revocations %+v, want the refresh token's", rs)
	}
	if user, _, ok := basicAuth(rs[0].Header); !ok || user != cognitoClient {
		t.Error("revocation without the client's HTTP Basic credentials")
	}
	if ok, seen := stepsOf(a.lastReport())["provider.revoke"]; !ok || !seen {
		t.Errorf("report steps %+v", a.lastReport().Steps)
	}
}

// TestCognitoSignOutURLs: Cognito redirects only to an Allowed sign-out
// URL, matched exactly; the landing URL the middleware sends is its fixed
// one, so registering it is enough.
func TestCognitoSignOutURLs(t *testing.T) {
	p := providers.Cognito(providers.CognitoConfig{
		UserPoolID: cognitoPool, Domain: "myapp", ClientID: cognitoClient, ClientSecret: cognitoSecret,
	})
	n := newInternet()
	a := newApp(t, n, nil, p)
	op := cognitoFake(t, a.URL+"/auth/logged-out?from=cognito")
	n.handle(cognitoIdP, op)
	n.handle(cognitoDomain, op)
	a.login("cognito")
	resp, body := a.get(a.expectRedirect(a.logout("")))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("Cognito answered %s: %s", resp.Status, body)
	}
}

// TestCognitoDomains: a domain prefix becomes the pool's
// {prefix}.auth.{region}.amazoncognito.com; a custom domain, or a full
// one, is used as it is; the region comes from the pool id.
func TestCognitoDomains(t *testing.T) {
	for _, tc := range []struct{ domain, host string }{
		{"myapp", "myapp.auth.eu-west-1.amazoncognito.com"},
		{"auth.example.com", "auth.example.com"},
		{"https://auth.example.com/", "auth.example.com"},
		{"myapp.auth.eu-west-1.amazoncognito.com", "myapp.auth.eu-west-1.amazoncognito.com"},
	} {
		p := providers.Cognito(providers.CognitoConfig{UserPoolID: cognitoPool, Domain: tc.domain, ClientID: cognitoClient})
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", tc.domain, err)
		}
		if p.Endpoints.RevocationURL != "https://"+tc.host+"/oauth2/revoke" {
			t.Errorf("%s: revocation at %s", tc.domain, p.Endpoints.RevocationURL)
		}
		act, err := p.Logout.EndSession(context.Background(), &providers.LogoutRequest{ClientID: cognitoClient,
			ReturnURL: "https://app.example/auth/logged-out", State: "ST"})
		want := "https://" + tc.host + "/logout?client_id=" + cognitoClient + "&logout_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out"
		if err != nil || act.Method != http.MethodGet || act.URL != want || act.StateSent {
			t.Errorf("%s: logout %+v (%v), want GET %s", tc.domain, act, err, want)
		}
	}
	for _, bad := range []providers.CognitoConfig{
		{UserPoolID: "AbCdEfGhI", Domain: "myapp", ClientID: cognitoClient},
		{UserPoolID: cognitoPool, ClientID: cognitoClient},
	} {
		p := providers.Cognito(bad)
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
