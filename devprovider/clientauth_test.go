package devprovider_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
)

var (
	clientRSA, _   = rsa.GenerateKey(rand.Reader, 2048)
	clientP256, _  = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	strangerKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
)

// keyClient is a private_key_jwt client registered with pub.
func keyClient(id string, pub crypto.PublicKey) devprovider.Client {
	return devprovider.Client{ID: id, AuthMethod: devprovider.AuthPrivateKeyJWT, PublicKey: pub, RedirectURIs: []string{callbackURL}}
}

// signAssertion signs claims with key (RS256 for RSA, ES256 for ECDSA).
func signAssertion(t *testing.T, key crypto.Signer, claims map[string]any) string {
	t.Helper()
	alg := jose.ES256
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = jose.RS256
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// assertionClaims are good claims for clientID at op's token endpoint.
func assertionClaims(op *devprovider.Server, clientID string, now time.Time) map[string]any {
	return map[string]any{"iss": clientID, "sub": clientID, "aud": op.Issuer() + "/token",
		"jti": oauth2.GenerateVerifier(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
}

// postForm posts form to op's endpoint and returns the status and the
// OAuth error code of the answer.
func postForm(t *testing.T, op *devprovider.Server, ep devprovider.Endpoint, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, op.Issuer()+string(ep), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func withAssertion(form url.Values, assertion string) url.Values {
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", assertion)
	return form
}

func TestPrivateKeyJWT(t *testing.T) {
	clk := newClock()
	op := start(t, devprovider.Config{Now: clk.Now, Clients: []devprovider.Client{
		webClient(), keyClient("rsa", clientRSA.Public()), keyClient("ec", clientP256.Public()),
	}})
	// A refresh with a made-up token: invalid_grant (400) once the client
	// is authenticated, invalid_client (401) otherwise.
	refresh := func() url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"made-up"}}
	}
	replayed := signAssertion(t, clientP256, assertionClaims(op, "ec", clk.Now()))
	for _, tc := range []struct {
		name   string
		client string
		key    crypto.Signer
		edit   func(c map[string]any)
		form   func(url.Values)
		want   int
	}{
		{name: "RS256", client: "rsa", key: clientRSA, want: 400},
		{name: "ES256", client: "ec", key: clientP256, want: 400},
		{name: "aud the issuer", client: "ec", key: clientP256, edit: func(c map[string]any) { c["aud"] = op.Issuer() }, want: 400},
		{name: "aud an array", client: "ec", key: clientP256, edit: func(c map[string]any) { c["aud"] = []string{"x", op.Issuer() + "/token"} }, want: 400},
		{name: "client_id matches", client: "ec", key: clientP256, form: func(f url.Values) { f.Set("client_id", "ec") }, want: 400},
		{name: "aud another server", client: "ec", key: clientP256, edit: func(c map[string]any) { c["aud"] = "https://elsewhere.example/token" }, want: 401},
		{name: "no aud", client: "ec", key: clientP256, edit: func(c map[string]any) { delete(c, "aud") }, want: 401},
		{name: "expired", client: "ec", key: clientP256, edit: func(c map[string]any) { c["exp"] = clk.Now().Add(-time.Second).Unix() }, want: 401},
		{name: "no exp", client: "ec", key: clientP256, edit: func(c map[string]any) { delete(c, "exp") }, want: 401},
		{name: "valid for an hour", client: "ec", key: clientP256, edit: func(c map[string]any) { c["exp"] = clk.Now().Add(time.Hour).Unix() }, want: 401},
		{name: "no jti", client: "ec", key: clientP256, edit: func(c map[string]any) { delete(c, "jti") }, want: 401},
		{name: "another client's iss", client: "ec", key: clientP256, edit: func(c map[string]any) { c["iss"] = "rsa" }, want: 401},
		{name: "sub not the client", client: "ec", key: clientP256, edit: func(c map[string]any) { c["sub"] = "someone" }, want: 401},
		{name: "signed by another key", client: "ec", key: strangerKey, want: 401},
		{name: "the other client's key", client: "ec", key: clientRSA, want: 401},
		{name: "client_id differs", client: "ec", key: clientP256, form: func(f url.Values) { f.Set("client_id", "rsa") }, want: 401},
		{name: "wrong assertion type", client: "ec", key: clientP256,
			form: func(f url.Values) {
				f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			}, want: 401},
		{name: "a secret client's assertion", client: defaultClient, key: clientP256, want: 401},
		{name: "and a secret", client: "ec", key: clientP256, form: func(f url.Values) { f.Set("client_secret", "x") }, want: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := assertionClaims(op, tc.client, clk.Now())
			if tc.edit != nil {
				tc.edit(claims)
			}
			form := withAssertion(refresh(), signAssertion(t, tc.key, claims))
			if tc.form != nil {
				tc.form(form)
			}
			status, body := postForm(t, op, devprovider.Token, form)
			want := map[int]string{400: "invalid_grant", 401: "invalid_client"}[tc.want]
			if tc.name == "and a secret" {
				want = "invalid_request"
			}
			if status != tc.want || body["error"] != want {
				t.Fatalf("status %d %v, want %d %s", status, body["error"], tc.want, want)
			}
		})
	}
	t.Run("replayed jti", func(t *testing.T) {
		if status, _ := postForm(t, op, devprovider.Token, withAssertion(refresh(), replayed)); status != 400 {
			t.Fatalf("first use: %d", status)
		}
		if status, body := postForm(t, op, devprovider.Token, withAssertion(refresh(), replayed)); status != 401 || body["error"] != "invalid_client" {
			t.Fatalf("replay: %d %v", status, body["error"])
		}
	})
	t.Run("a key client's secret", func(t *testing.T) {
		if status, _ := postForm(t, op, devprovider.Token, refresh(), "ec", "guess"); status != 401 {
			t.Fatalf("Basic for a private_key_jwt client: %d", status)
		}
	})
}

func TestAddClientChecksThePublicKey(t *testing.T) {
	for name, c := range map[string]devprovider.Client{
		"no key":      keyClient("k", nil),
		"private key": keyClient("k", clientP256),
		"P-384":       keyClient("k", func() crypto.PublicKey { k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader); return k.Public() }()),
	} {
		if _, err := devprovider.New(devprovider.Config{Clients: []devprovider.Client{c}}); err == nil {
			t.Errorf("%s: New accepted the client", name)
		}
	}
}

// push sends an authorization request to the PAR endpoint as the web
// client and returns the status and answer.
func push(t *testing.T, op *devprovider.Server, r *rp, f flow, edit func(url.Values)) (int, map[string]any) {
	t.Helper()
	u, _ := url.Parse(r.authURL(f))
	form := u.Query()
	if edit != nil {
		edit(form)
	}
	return postForm(t, op, devprovider.PushedAuthorization, form, defaultClient, webSecret)
}

func TestPushedAuthorization(t *testing.T) {
	clk := newClock()
	op := start(t, devprovider.Config{Now: clk.Now, AutoLogin: "alice"})
	r := newRP(t, op, defaultClient, webSecret, clk.Now)
	b := newBrowser(t)
	byReference := func(requestURI any, clientID string) response {
		s, _ := requestURI.(string)
		return b.get(op.Issuer() + "/authorize?" + url.Values{"client_id": {clientID}, "request_uri": {s}}.Encode())
	}

	f := newFlow()
	status, body := push(t, op, r, f, nil)
	if status != http.StatusCreated || !strings.HasPrefix(body["request_uri"].(string), "urn:ietf:params:oauth:request_uri:") || body["expires_in"] != float64(60) {
		t.Fatalf("push: %d %v", status, body)
	}
	resp := byReference(body["request_uri"], defaultClient)
	if resp.status != http.StatusFound {
		t.Fatalf("authorize by reference: %d %s", resp.status, resp.body)
	}
	cb := resp.location(t)
	if cb.Query().Get("state") != f.state {
		t.Fatalf("callback %s", cb)
	}
	r.exchange(t, f, cb.Query().Get("code"))
	if again := byReference(body["request_uri"], defaultClient); again.status != http.StatusBadRequest {
		t.Errorf("a request_uri used twice: %d", again.status)
	}

	_, body = push(t, op, r, newFlow(), nil)
	if resp := byReference(body["request_uri"], "other"); resp.status != http.StatusBadRequest {
		t.Errorf("another client_id: %d", resp.status)
	}
	_, body = push(t, op, r, newFlow(), nil)
	clk.Add(61 * time.Second)
	if resp := byReference(body["request_uri"], defaultClient); resp.status != http.StatusBadRequest {
		t.Errorf("an expired request_uri: %d", resp.status)
	}

	for name, tc := range map[string]struct {
		edit   func(url.Values)
		status int
		code   string
	}{
		"request_uri pushed":   {func(v url.Values) { v.Set("request_uri", "urn:x") }, 400, "invalid_request"},
		"unregistered return":  {func(v url.Values) { v.Set("redirect_uri", "https://evil.example/cb") }, 400, "invalid_request"},
		"another client_id":    {func(v url.Values) { v.Set("client_id", "other") }, 401, "invalid_client"},
		"no openid scope":      {func(v url.Values) { v.Set("scope", "profile") }, 400, "invalid_scope"},
		"wrong response_type":  {func(v url.Values) { v.Set("response_type", "token") }, 400, "unsupported_response_type"},
		"client not signed in": {nil, 401, "invalid_client"},
	} {
		t.Run(name, func(t *testing.T) {
			var status int
			var body map[string]any
			if tc.edit == nil {
				u, _ := url.Parse(r.authURL(newFlow()))
				status, body = postForm(t, op, devprovider.PushedAuthorization, u.Query(), defaultClient, "wrong")
			} else {
				status, body = push(t, op, r, newFlow(), tc.edit)
			}
			if status != tc.status || body["error"] != tc.code {
				t.Errorf("%d %v, want %d %s", status, body["error"], tc.status, tc.code)
			}
		})
	}
}

func TestRequirePushedAuthorization(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice", RequirePushedAuthorization: true})
	r := newRP(t, op, defaultClient, webSecret, nil)
	b := newBrowser(t)
	if resp := b.get(r.authURL(newFlow())); resp.status != http.StatusBadRequest || !strings.Contains(resp.body, "pushed") {
		t.Fatalf("a plain authorization request: %d %s", resp.status, resp.body)
	}
	f := newFlow()
	_, body := push(t, op, r, f, nil)
	resp := b.get(op.Issuer() + "/authorize?" + url.Values{"client_id": {defaultClient}, "request_uri": {body["request_uri"].(string)}}.Encode())
	if resp.status != http.StatusFound || resp.location(t).Query().Get("code") == "" {
		t.Fatalf("a pushed request: %d %s", resp.status, resp.body)
	}
	var doc map[string]any
	if err := r.provider.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["require_pushed_authorization_requests"] != true || doc["pushed_authorization_request_endpoint"] != op.Issuer()+"/par" {
		t.Errorf("discovery: %v %v", doc["require_pushed_authorization_requests"], doc["pushed_authorization_request_endpoint"])
	}
}

func TestRevocationAuthMethods(t *testing.T) {
	clk := newClock()
	both := keyClient("both", clientP256.Public())
	both.Secret = "both-secret"
	op := start(t, devprovider.Config{Now: clk.Now, RevocationAuthMethods: []string{devprovider.AuthSecretPost},
		Clients: []devprovider.Client{both}})
	revoke := func() url.Values { return url.Values{"token": {"made-up"}} }
	assertion := func(aud string) string {
		c := assertionClaims(op, "both", clk.Now())
		c["aud"] = aud
		return signAssertion(t, clientP256, c)
	}
	post := revoke()
	post.Set("client_id", "both")
	post.Set("client_secret", "both-secret")
	if status, _ := postForm(t, op, devprovider.Revocation, post); status != http.StatusOK {
		t.Errorf("client_secret_post at the revocation endpoint: %d", status)
	}
	if status, _ := postForm(t, op, devprovider.Revocation, withAssertion(revoke(), assertion(op.Issuer()+"/token"))); status != http.StatusUnauthorized {
		t.Errorf("private_key_jwt where only client_secret_post is supported: %d", status)
	}
	post.Set("grant_type", "refresh_token")
	post.Set("refresh_token", "made-up")
	if status, _ := postForm(t, op, devprovider.Token, post); status != http.StatusUnauthorized {
		t.Errorf("client_secret_post at the token endpoint of a private_key_jwt client: %d", status)
	}
	var doc map[string]any
	if err := newRP(t, op, "both", "", nil).provider.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	methods, _ := doc["revocation_endpoint_auth_methods_supported"].([]any)
	token, _ := doc["token_endpoint_auth_methods_supported"].([]any)
	if len(methods) != 1 || methods[0] != "client_secret_post" || !slices.Contains(token, any("private_key_jwt")) {
		t.Errorf("discovery: revocation %v, token %v", methods, token)
	}

	// Where private_key_jwt is accepted at the revocation endpoint, the
	// audience may also be the endpoint itself.
	open := start(t, devprovider.Config{Now: clk.Now, Clients: []devprovider.Client{keyClient("ec", clientP256.Public())}})
	c := assertionClaims(open, "ec", clk.Now())
	c["aud"] = open.Issuer() + "/revoke"
	if status, _ := postForm(t, open, devprovider.Revocation, withAssertion(revoke(), signAssertion(t, clientP256, c))); status != http.StatusOK {
		t.Errorf("an assertion for the revocation endpoint: %d", status)
	}
}
