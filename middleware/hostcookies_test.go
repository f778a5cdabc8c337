package middleware

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// siblingCanSet reports whether a browser takes a cookie of this name set
// by another origin: a sibling subdomain (with Domain=) or the same host
// over plain http. Browsers refuse both for the __Host- prefix (RFC 6265bis
// §4.1.3.2); every other name, __Secure- included, can be planted.
func siblingCanSet(name string) bool { return !strings.HasPrefix(name, "__Host-") }

// assertHostCookies checks that every cookie of rec is __Host- and has
// the attributes the prefix requires: Secure, Path=/, no Domain.
func assertHostCookies(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatalf("%s set no cookie", what)
	}
	for _, c := range cookies {
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("%s set %s (Secure %v, Path %q, Domain %q); want a __Host- cookie", what, c.Name, c.Secure, c.Path, c.Domain)
		}
	}
}

func TestPlantedFlowCookieCannotCompleteALogin(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	stub := &stubProvider{key: key, token: func() (int, string) { return http.StatusBadRequest, `{"error":"invalid_grant"}` }}
	m := newFuzzMiddleware(t, stub)

	// The attacker starts a login in their own browser and keeps its flow
	// cookie and state; the provider gives them a code for their account.
	rec := httptest.NewRecorder()
	m.login(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/login", nil))
	assertHostCookies(t, "login", rec)
	authorize, _ := url.Parse(rec.Header().Get("Location"))
	state := authorize.Query().Get("state")

	// A sibling subdomain plants what it can of it in the victim's browser,
	// and sends the victim to the callback with the attacker's code.
	victim := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback?"+url.Values{
		"state": {state}, "code": {"attackers-code"}, "iss": {"https://op.example"},
	}.Encode(), nil)
	for _, c := range rec.Result().Cookies() {
		if siblingCanSet(c.Name) {
			victim.AddCookie(c)
			// And under the names of a plain-http flow cookie.
			victim.AddCookie(&http.Cookie{Name: strings.TrimPrefix(strings.TrimPrefix(c.Name, "__Secure-"), "__Host-"), Value: c.Value})
		}
	}
	out := httptest.NewRecorder()
	m.callback(out, victim)
	if out.Code != http.StatusBadRequest || stub.tokens.Load() != 0 {
		t.Fatalf("callback with a planted flow cookie: %d, %d code(s) redeemed; want 400 and none", out.Code, stub.tokens.Load())
	}
}

func TestStateCookiesAreHostCookiesOnHTTPS(t *testing.T) {
	m := newTestMiddleware(t, &fakeStore{}, Config{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "https://app.example/auth/logout", nil)
	req.Header.Set("Origin", "https://app.example")
	m.logout(rec, req)
	assertHostCookies(t, "logout", rec)

	// The landing reads the logout state cookie, at /auth/logged-out.
	land := httptest.NewRequest(http.MethodGet, "https://app.example/auth/logged-out", nil)
	for _, c := range rec.Result().Cookies() {
		land.AddCookie(c)
	}
	out := httptest.NewRecorder()
	m.loggedOut(out, land)
	if out.Code != http.StatusSeeOther {
		t.Fatalf("landing: %d %s", out.Code, out.Body)
	}
	expired := false
	for _, c := range out.Result().Cookies() {
		expired = expired || (c.Name == m.logoutCookieName() && c.MaxAge < 0 && c.Path == "/")
	}
	if !expired {
		t.Error("the landing did not expire the logout state cookie at Path=/")
	}
}
