package zop_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/endsession/endsession/e2e/internal/zop"
)

const app = "http://127.0.0.1:9"

// TestProviderFlows drives the provider with a plain HTTP client: the
// discovery document, a login through its form with PKCE, the token
// request, and the end-session to the registered post-logout URI with
// the state; an unregistered one is refused.
func TestProviderFlows(t *testing.T) {
	p := zop.Start(t, app)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var d struct {
		Issuer        string   `json:"issuer"`
		Authorization string   `json:"authorization_endpoint"`
		Token         string   `json:"token_endpoint"`
		EndSession    string   `json:"end_session_endpoint"`
		Methods       []string `json:"code_challenge_methods_supported"`
	}
	getJSON(t, c, p.URL+"/.well-known/openid-configuration", &d)
	if d.Issuer != p.URL || d.EndSession == "" || !strings.Contains(strings.Join(d.Methods, " "), "S256") {
		t.Fatalf("discovery %+v", d)
	}

	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {zop.PublicClientID}, "response_type": {"code"}, "scope": {"openid profile email"},
		"redirect_uri": {app + zop.CallbackPath}, "state": {"s1"}, "nonce": {"n1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	loginPage := location(t, c, http.MethodGet, d.Authorization+"?"+q.Encode(), nil)
	lp, _ := url.Parse(loginPage)
	id := lp.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("authorize sent the browser to %s", loginPage)
	}
	wrong := post(t, c, p.URL+"/login/username", url.Values{"id": {id}, "username": {zop.Username}, "password": {"nope"}})
	if wrong.StatusCode != http.StatusOK {
		t.Fatalf("a wrong password answered %s", wrong.Status)
	}
	cb := location(t, c, http.MethodPost, p.URL+"/login/username", url.Values{"id": {id}, "username": {zop.Username}, "password": {zop.Password}})
	back := location(t, c, http.MethodGet, cb, nil)
	bu, _ := url.Parse(back)
	if !strings.HasPrefix(back, app+zop.CallbackPath+"?") || bu.Query().Get("state") != "s1" || bu.Query().Get("code") == "" {
		t.Fatalf("the callback is %s", back)
	}
	resp := post(t, c, d.Token, url.Values{"grant_type": {"authorization_code"}, "code": {bu.Query().Get("code")},
		"redirect_uri": {app + zop.CallbackPath}, "client_id": {zop.PublicClientID}, "code_verifier": {verifier}})
	var tok struct {
		IDToken string `json:"id_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok.IDToken == "" {
		t.Fatalf("token request answered %s", resp.Status)
	}

	end := url.Values{"id_token_hint": {tok.IDToken}, "post_logout_redirect_uri": {app + zop.LoggedOutPath}, "state": {"s2"}}
	if got := location(t, c, http.MethodGet, d.EndSession+"?"+end.Encode(), nil); got != app+zop.LoggedOutPath+"?state=s2" {
		t.Errorf("end-session sent the browser to %s", got)
	}
	end.Set("post_logout_redirect_uri", app+"/elsewhere")
	r, err := c.Get(d.EndSession + "?" + end.Encode())
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode < 400 && strings.HasPrefix(r.Header.Get("Location"), app+"/elsewhere") {
		t.Error("end-session followed an unregistered post_logout_redirect_uri")
	}
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, c *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// location makes a request and returns the absolute redirect target.
func location(t *testing.T, c *http.Client, method, u string, form url.Values) string {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(u, form)
	} else {
		resp, err = c.Get(u)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("%s %s answered %s without a redirect", method, u, resp.Status)
	}
	return loc.String()
}
