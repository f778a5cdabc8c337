package providers_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// golden is what a preset's login and logout send, as its provider
// documents them. In the values, "{callback}", "{landing}" and
// "{id_token}" stand for the application's callback URL, its fixed
// post-logout landing URL and the session's ID token.
type golden struct {
	// Discovery is the discovery URL fetched.
	Discovery string
	// Authorize is the authorization endpoint, AuthQuery its parameters.
	Authorize string
	AuthQuery map[string]string
	// Token is the token endpoint; Auth the client authentication it
	// gets ("basic", "post" or "none"); TokenBody the form it gets.
	Token     string
	Auth      string
	TokenBody map[string]string
	// Logout is the logout URL without its query, reached by a GET;
	// empty for a local logout, which lands with ?logout_notice=local-only.
	Logout      string
	LogoutQuery map[string]string
}

// authQuery is the authorization request of a confidential or public
// client with PKCE, and extra parameters.
func authQuery(clientID, scope string, extra ...string) map[string]string {
	q := map[string]string{
		"client_id": clientID, "response_type": "code", "redirect_uri": "{callback}",
		"scope": scope, "state": anyValue, "nonce": anyValue,
		"code_challenge": anyValue, "code_challenge_method": "S256",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q[extra[i]] = extra[i+1]
	}
	return q
}

// codeBody is the token request body of an authorization code grant;
// with the secret in the body for "post", the client id for "post" and
// "none".
func codeBody(auth, clientID, secret string) map[string]string {
	b := map[string]string{"grant_type": "authorization_code", "code": anyValue, "redirect_uri": "{callback}", "code_verifier": anyValue}
	switch auth {
	case "post":
		b["client_id"], b["client_secret"] = clientID, secret
	case "none":
		b["client_id"] = clientID
	}
	return b
}

// runGolden logs in through the middleware with p at op (served on n),
// checks every request against w, logs out and checks the logout
// request and where the user lands. It returns the application and the
// session as it was before the logout.
func runGolden(t *testing.T, n *internet, op *fakeOP, p providers.Provider, w golden) (*app, session.Data) {
	t.Helper()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	a := newApp(t, n, nil, p)
	var d session.Data
	fill := func(m map[string]string) map[string]string {
		out := make(map[string]string, len(m))
		r := strings.NewReplacer("{callback}", a.URL+"/auth/callback", "{landing}", a.URL+"/auth/logged-out", "{id_token}", d.IDToken)
		for k, v := range m {
			out[k] = r.Replace(v)
		}
		return out
	}
	where, q := splitURL(t, a.login(p.Name))
	if w.Discovery != "" {
		if got := op.only("discovery"); got.Method != http.MethodGet || got.URL != w.Discovery {
			t.Errorf("discovery: %s %s, want GET %s", got.Method, got.URL, w.Discovery)
		}
	}
	if where != w.Authorize {
		t.Errorf("authorize at %s, want %s", where, w.Authorize)
	}
	checkValues(t, "authorize", q, fill(w.AuthQuery))
	tok := op.only("token")
	if tok.Method != http.MethodPost || tok.URL != w.Token {
		t.Errorf("token request %s %s, want POST %s", tok.Method, tok.URL, w.Token)
	}
	if ct := tok.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("token request Content-Type %q", ct)
	}
	user, pass, basic := basicAuth(tok.Header)
	switch w.Auth {
	case "basic":
		if !basic || user != url.QueryEscape(op.clientID) || pass != url.QueryEscape(op.secret) {
			t.Errorf("token request without the client's HTTP Basic credentials")
		}
	default:
		if tok.Header.Get("Authorization") != "" {
			t.Errorf("token request with an Authorization header, want the client in the body")
		}
	}
	checkValues(t, "token body", tok.Form, fill(w.TokenBody))
	d, ok := a.session()
	if !ok {
		t.Fatal("no session after the login")
	}

	resp, body := a.logout("/bye")
	if w.Logout == "" {
		if got := a.follow(resp, body); got != a.URL+"/bye?logout_notice=local-only" {
			t.Errorf("landed on %s, want /bye?logout_notice=local-only", got)
		}
		if _, ok := a.session(); ok {
			t.Error("the session survived the logout")
		}
		if n := len(op.requests("logout")); n != 0 {
			t.Errorf("%d logout requests at the provider, which has no logout", n)
		}
		return a, d
	}
	target := a.expectRedirect(resp, body)
	where, lq := splitURL(t, target)
	if where != w.Logout {
		t.Errorf("logout at %s, want %s", where, w.Logout)
	}
	checkValues(t, "logout", lq, fill(w.LogoutQuery))
	if got := a.follow(a.get(target)); got != a.URL+"/bye" {
		t.Errorf("landed on %s, want /bye", got)
	}
	if lo := op.only("logout"); lo.Method != http.MethodGet {
		t.Errorf("logout request %s", lo.Method)
	}
	if _, ok := a.session(); ok {
		t.Error("the session survived the logout")
	}
	return a, d
}

// testKey is a signing key for ID tokens made by the tests themselves.
func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
