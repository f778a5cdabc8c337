package providers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	entraHost   = "login.microsoftonline.com"
	entraTenant = "3f1c2a9e-5b7d-4e11-9c0a-6d2b8e4f7a10"
	entraClient = "6731de76-14a6-49ae-97bc-6eba6914391e"
	entraSecret = "entra-secret"
	// entraLoginHint is a login_hint optional claim, opaque to the
	// application, in the form Microsoft's examples show.
	entraLoginHint = "O.CiQ0M2E1NDg4Yy05ZGU2LTQyZTUtYWJkZS0zY2IzNGU4ZjBlZGMSJGFhMDBkMWZhLTUyNjktNGUxYy1iMDZkLTMwODY4Mzc"
)

// entraFake stands for a Microsoft Entra ID tenant's v2.0 endpoints:
// discovery under /{tenant}/v2.0, the secret in the token request's body,
// and a logout endpoint that takes post_logout_redirect_uri, state and
// logout_hint.
func entraFake(t *testing.T) *fakeOP {
	op := newFakeOP(t, "https://"+entraHost+"/"+entraTenant+"/v2.0", entraClient, entraSecret)
	op.base = "https://" + entraHost
	op.auth = "post"
	op.endSession = true
	op.claims["login_hint"] = entraLoginHint
	op.claims["tid"] = entraTenant
	op.refresh = true
	op.paths = opPaths{
		Discovery: "/" + entraTenant + "/v2.0/.well-known/openid-configuration",
		Authorize: "/" + entraTenant + "/oauth2/v2.0/authorize",
		Token:     "/" + entraTenant + "/oauth2/v2.0/token",
		JWKS:      "/" + entraTenant + "/discovery/v2.0/keys",
		Logout:    "/" + entraTenant + "/oauth2/v2.0/logout",
	}
	op.doc = map[string]any{
		"userinfo_endpoint":             "https://graph.microsoft.com/oidc/userinfo",
		"frontchannel_logout_supported": true,
		"http_logout_supported":         true,
	}
	return op
}

// TestEntraLoginLogout is the golden login and logout of an Entra ID
// tenant: the v2.0 authorize and token endpoints of the tenant, the
// secret in the body, and a logout by GET with post_logout_redirect_uri,
// state and the login_hint claim as logout_hint, which spares the user
// Microsoft's account picker; no id_token_hint, which Microsoft's sign-out
// request does not list.
func TestEntraLoginLogout(t *testing.T) {
	p := providers.Entra(entraTenant, entraClient, entraSecret)
	if p.Name != "entra" || p.Issuer != "https://login.microsoftonline.com/"+entraTenant+"/v2.0" {
		t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
	}
	op := entraFake(t)
	n := newInternet()
	n.handle(entraHost, op)
	base := "https://login.microsoftonline.com/" + entraTenant
	runGolden(t, n, op, p, golden{
		Discovery: base + "/v2.0/.well-known/openid-configuration",
		Authorize: base + "/oauth2/v2.0/authorize",
		AuthQuery: authQuery(entraClient, "openid profile email offline_access"),
		Token:     base + "/oauth2/v2.0/token",
		Auth:      "post",
		TokenBody: codeBody("post", entraClient, entraSecret),
		Logout:    base + "/oauth2/v2.0/logout",
		LogoutQuery: map[string]string{
			"post_logout_redirect_uri": "{landing}", "state": anyValue, "logout_hint": entraLoginHint,
		},
	})
}

// TestEntraLogoutHint: without the login_hint optional claim the logout
// goes without logout_hint (Microsoft then shows its account picker);
// with an ID token that is not a JWT, too.
func TestEntraLogoutHint(t *testing.T) {
	key := testKey(t)
	end := "https://login.microsoftonline.com/" + entraTenant + "/oauth2/v2.0/logout"
	cases := []struct {
		name, idToken, want string
	}{
		{"claim", signJWT(t, key, map[string]any{"sub": "u", "login_hint": "O.abc"}), "logout_hint=O.abc"},
		{"no claim", signJWT(t, key, map[string]any{"sub": "u"}), ""},
		{"not a JWT", "opaque", ""},
		{"no ID token", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			act, err := providers.EntraLogout{}.EndSession(context.Background(), &providers.LogoutRequest{
				Endpoints: providers.Endpoints{EndSessionURL: end}, ClientID: entraClient, IDToken: tc.idToken,
				ReturnURL: "https://app.example/auth/logged-out", State: "ST",
			})
			if err != nil || act.Method != http.MethodGet || !act.StateSent {
				t.Fatalf("%+v, %v", act, err)
			}
			want := end + "?"
			if tc.want != "" {
				want += tc.want + "&"
			}
			want += "post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST"
			if act.URL != want {
				t.Errorf("logout at\n%s\nwant\n%s", act.URL, want)
			}
		})
	}
}

// TestEntraTenants: "consumers" is a tenant of its own with a fixed id;
// "common" and "organizations" are multi-tenant, with a template issuer,
// and Validate wants the accepted tenants; anything else that is not a
// tenant id is refused.
func TestEntraTenants(t *testing.T) {
	p := providers.Entra("consumers", entraClient, entraSecret)
	if p.Issuer != "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0" {
		t.Errorf("consumers issuer %q", p.Issuer)
	}
	if p.DiscoveryURL != "https://login.microsoftonline.com/consumers/v2.0/.well-known/openid-configuration" {
		t.Errorf("consumers discovery %q", p.DiscoveryURL)
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	for _, tenant := range []string{"common", "organizations", "Organizations"} {
		p := providers.Entra(tenant, entraClient, entraSecret)
		if p.Issuer != "https://login.microsoftonline.com/{tenantid}/v2.0" || p.MultiTenant == nil {
			t.Errorf("%s: issuer %q, MultiTenant %v", tenant, p.Issuer, p.MultiTenant)
			continue
		}
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "tenant") {
			t.Errorf("%s without tenants: %v, want an error about the tenants", tenant, err)
		}
		p.MultiTenant.Tenants = []string{entraTenant}
		if err := p.Validate(); err != nil {
			t.Errorf("%s with a tenant: %v", tenant, err)
		}
	}
	for _, tenant := range []string{"", "contoso.onmicrosoft.com", "3f1c2a9e"} {
		p := providers.Entra(tenant, entraClient, entraSecret)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "tenant") {
			t.Errorf("tenant %q: %v, want an error about the tenant", tenant, err)
		}
	}
	// A template issuer without MultiTenant would compare the template.
	p = providers.OIDC("x", "https://login.microsoftonline.com/{tenantid}/v2.0", entraClient, entraSecret)
	if err := p.Validate(); err == nil {
		t.Error("a template issuer without MultiTenant: no error")
	}
}

// TestEntraFrontchannelLogout: Entra's front-channel logout loads the
// Front-channel logout URL with sid and without iss. The preset says so
// (Provider.FrontchannelSIDOnly), and the route ends the session with
// that sid at Entra; without the preset's word such a request is refused.
func TestEntraFrontchannelLogout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sidOnly bool
		status  int
	}{{"preset", true, http.StatusOK}, {"iss required", false, http.StatusBadRequest}} {
		t.Run(tc.name, func(t *testing.T) {
			p := providers.Entra(entraTenant, entraClient, entraSecret)
			if !p.FrontchannelSIDOnly {
				t.Fatal("the Entra preset does not say its front-channel logout has no iss")
			}
			p.FrontchannelSIDOnly = tc.sidOnly
			op := entraFake(t)
			n := newInternet()
			n.handle(entraHost, op)
			a := newApp(t, n, nil, p)
			a.login("entra")
			// Entra's iframe is a third-party context: no cookie of the app.
			resp, err := http.Get(a.URL + "/auth/frontchannel-logout?sid=sid-42")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("front-channel logout answered %s, want %d", resp.Status, tc.status)
			}
			if _, ok := a.session(); ok == tc.sidOnly {
				t.Errorf("session still there: %v, want %v", ok, !tc.sidOnly)
			}
		})
	}
}

// TestEntraFrontchannelTwoTenants: with two providers that send sid
// alone, a request without iss names neither, and is refused.
func TestEntraFrontchannelTwoTenants(t *testing.T) {
	a1 := providers.Entra(entraTenant, entraClient, entraSecret)
	a1.Name = "entra-a"
	a2 := providers.Entra("0b5d0c4e-2f3a-4b1c-8d9e-7a6b5c4d3e2f", entraClient, entraSecret)
	a2.Name = "entra-b"
	a := newApp(t, newInternet(), nil, a1, a2)
	resp, err := http.Get(a.URL + "/auth/frontchannel-logout?sid=sid-42")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("front-channel logout answered %s, want 400", resp.Status)
	}
}
