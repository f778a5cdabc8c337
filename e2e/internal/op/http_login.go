package op

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"

	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// UserAgent is a plain-HTTP stand-in for a browser at the provider: a cookie
// jar that follows the provider's redirects and fills its development login
// and consent pages. Use it where a test needs tokens or provider sessions
// but no real browser. Keep one per simulated device: the jar holds the
// provider session.
type UserAgent struct {
	OP     *OP
	Client *http.Client
}

// NewUserAgent returns a UserAgent with an empty cookie jar.
func (o *OP) NewUserAgent() *UserAgent {
	jar, _ := cookiejar.New(nil)
	opURL, _ := url.Parse(o.URL)
	return &UserAgent{
		OP: o,
		Client: &http.Client{
			Jar:     jar,
			Timeout: 10 * time.Second,
			// Follow redirects within the provider; stop at the first one
			// that leaves it (to the app), and return that response.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if req.URL.Host != opURL.Host {
					return http.ErrUseLastResponse
				}
				if len(via) > 20 {
					return errors.New("too many redirects at the provider")
				}
				return nil
			},
		},
	}
}

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)

// Authorize opens authorizeURL (an authorization request to the provider),
// logs in as login with password (any non-empty password works), grants
// consent if asked, and returns the URL the provider redirects to: the app's
// redirect_uri with code, state and iss (or error). It does not call the app.
func (u *UserAgent) Authorize(t testing.TB, authorizeURL, login, password string) *url.URL {
	t.Helper()
	resp := u.get(t, authorizeURL)
	for step := 0; step < 5; step++ {
		if loc := redirectAway(resp); loc != nil {
			return loc
		}
		body := readBody(t, resp)
		m := formAction.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("provider page at %s has no form:\n%s", resp.Request.URL, body)
		}
		action, err := resp.Request.URL.Parse(htmlUnescape(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(body, `name="prompt" value="login"`):
			resp = u.post(t, action.String(), url.Values{"prompt": {"login"}, "login": {login}, "password": {password}})
		case strings.Contains(body, `name="prompt" value="consent"`):
			resp = u.post(t, action.String(), url.Values{"prompt": {"consent"}})
		default:
			t.Fatalf("unexpected provider page at %s:\n%s", resp.Request.URL, body)
		}
	}
	t.Fatalf("the provider did not redirect back to the app")
	return nil
}

func redirectAway(resp *http.Response) *url.URL {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	loc, err := resp.Location()
	if err != nil {
		return nil
	}
	resp.Body.Close()
	return loc
}

func (u *UserAgent) get(t testing.TB, target string) *http.Response {
	t.Helper()
	resp, err := u.Client.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return resp
}

func (u *UserAgent) post(t testing.TB, target string, form url.Values) *http.Response {
	t.Helper()
	resp, err := u.Client.PostForm(target, form)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	return resp
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

var hiddenXSRF = regexp.MustCompile(`name="xsrf" value="([^"]+)"`)

// EndSession makes an RP-initiated logout request (GET end_session_endpoint
// with params) and answers the provider's question: "Yes, sign me out"
// when signOut, else "No, stay signed in". It returns where the provider
// redirects (post_logout_redirect_uri?state=... or its own success page).
func (u *UserAgent) EndSession(t testing.TB, params url.Values, signOut bool) *url.URL {
	t.Helper()
	d := u.OP.Discovery(t)
	resp := u.get(t, d.EndSessionEndpoint+"?"+params.Encode())
	body := readBody(t, resp)
	m := hiddenXSRF.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("end-session page has no xsrf field (%s):\n%s", resp.Status, body)
	}
	form := url.Values{"xsrf": {m[1]}}
	if signOut {
		form.Set("logout", "yes")
	}
	resp = u.post(t, d.EndSessionEndpoint+"/confirm", form)
	if loc := redirectAway(resp); loc != nil {
		return loc
	}
	// The provider's own success page is on the provider: the client followed it.
	readBody(t, resp)
	return resp.Request.URL
}

// VerifyJWT checks an RS256 JWT (ID token, logout token) signed by the
// provider against its JWKS, and returns its claims. It checks the signature
// only: iss, aud, exp and the rest are the caller's to check.
func (o *OP) VerifyJWT(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token: %q", token)
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	decodeSegment(t, parts[0], &header)
	if header.Alg != "RS256" {
		t.Fatalf("alg %q, want RS256", header.Alg)
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	o.getJSON(t, strings.TrimPrefix(o.Discovery(t).JWKSURI, o.URL), &jwks)
	for _, k := range jwks.Keys {
		if k.Kid != header.Kid || k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("bad signature on the token: %v", err)
		}
		var claims map[string]any
		decodeSegment(t, parts[1], &claims)
		return claims
	}
	t.Fatalf("no key %q in the provider's JWKS", header.Kid)
	return nil
}

// Claims decodes a JWT's payload without checking anything.
func Claims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token: %q", token)
	}
	var claims map[string]any
	decodeSegment(t, parts[1], &claims)
	return claims
}

func decodeSegment(t testing.TB, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("decode JWT segment: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode JWT segment: %v", err)
	}
}

// Revoke calls the revocation endpoint as the confidential client (or as
// the public one when secret is "") and returns the HTTP status.
func (o *OP) Revoke(t testing.TB, clientID, secret, token, hint string) int {
	t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if secret == "" {
		form.Set("client_id", clientID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.Discovery(t).RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := o.http.Do(req)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Logf("revocation answered %s: %s", resp.Status, b)
	}
	return resp.StatusCode
}
