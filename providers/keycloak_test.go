package providers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	kcHost   = "sso.example.org"
	kcRealm  = "demo"
	kcClient = "webapp"
	kcSecret = "kc-secret"
)

// keycloakFake stands for a Keycloak realm: discovery under
// /realms/{realm}, its protocol/openid-connect endpoints, HTTP Basic
// client authentication, and an RP-Initiated Logout endpoint that returns
// the state.
func keycloakFake(t *testing.T) *fakeOP {
	issuer := "https://" + kcHost + "/realms/" + kcRealm
	op := newFakeOP(t, issuer, kcClient, kcSecret)
	op.base = "https://" + kcHost
	op.endSession = true
	oc := "/realms/" + kcRealm + "/protocol/openid-connect"
	op.paths = opPaths{
		Discovery: "/realms/" + kcRealm + "/.well-known/openid-configuration",
		Authorize: oc + "/auth", Token: oc + "/token", JWKS: oc + "/certs", UserInfo: oc + "/userinfo",
		Logout: oc + "/logout", Revocation: oc + "/revoke",
	}
	return op
}

// TestKeycloakLoginLogout is the golden login and logout of a Keycloak
// realm through the middleware: the authorization request, the token
// request (HTTP Basic), and the logout by GET with id_token_hint,
// post_logout_redirect_uri, state and client_id, the state coming back.
func TestKeycloakLoginLogout(t *testing.T) {
	p := providers.Keycloak("https://"+kcHost, kcRealm, kcClient, kcSecret)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Name != "keycloak" || p.Issuer != "https://"+kcHost+"/realms/"+kcRealm {
		t.Fatalf("Name %q, Issuer %q", p.Name, p.Issuer)
	}
	op := keycloakFake(t)
	n := newInternet()
	n.handle(kcHost, op)
	a := newApp(t, n, nil, p)
	where, q := splitURL(t, a.login(p.Name))
	if where != "https://"+kcHost+"/realms/demo/protocol/openid-connect/auth" {
		t.Errorf("authorize at %s", where)
	}
	checkValues(t, "authorize", q, map[string]string{
		"client_id": kcClient, "response_type": "code", "redirect_uri": a.URL + "/auth/callback",
		"scope": "openid profile email", "state": anyValue, "nonce": anyValue,
		"code_challenge": anyValue, "code_challenge_method": "S256",
	})
	tok := op.only("token")
	if tok.Method != http.MethodPost || tok.URL != "https://"+kcHost+"/realms/demo/protocol/openid-connect/token" {
		t.Errorf("token request %s %s", tok.Method, tok.URL)
	}
	if user, pass, ok := (&http.Request{Header: tok.Header}).BasicAuth(); !ok || user != kcClient || pass != kcSecret {
		t.Errorf("token request without the client's HTTP Basic credentials")
	}
	checkValues(t, "token body", tok.Form, map[string]string{
		"grant_type": "authorization_code", "code": anyValue, "redirect_uri": a.URL + "/auth/callback", "code_verifier": anyValue,
	})
	d, ok := a.session()
	if !ok {
		t.Fatal("no session")
	}

	resp, body := a.logout("/bye")
	target := a.expectRedirect(resp, body)
	where, lq := splitURL(t, target)
	if where != "https://"+kcHost+"/realms/demo/protocol/openid-connect/logout" {
		t.Errorf("logout at %s", where)
	}
	checkValues(t, "logout", lq, map[string]string{
		"id_token_hint": d.IDToken, "post_logout_redirect_uri": a.URL + "/auth/logged-out", "state": anyValue, "client_id": kcClient,
	})
	resp, body = a.get(target)
	want := a.URL + "/auth/logged-out?" + url.Values{"state": {lq.Get("state")}}.Encode()
	if back := a.expectRedirect(resp, body); back != want {
		t.Errorf("Keycloak sent the browser to %s", back)
	}
	if got := a.follow(resp, body); got != a.URL+"/bye" {
		t.Errorf("landed on %s", got)
	}
	if lo := op.only("logout"); lo.Method != http.MethodGet {
		t.Errorf("logout request %s", lo.Method)
	}
}
