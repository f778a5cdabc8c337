package endsession_test

// Tests of the login's per-request parameters (an allow-list, validated
// and bounded), of max_age checked against auth_time at the callback, and
// of silent login (prompt=none) that returns anonymous when the provider
// needs the user.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// authorizeQuery starts a login with query and returns the query of the
// authorization request, failing unless the login redirects to it.
func (s *stack) authorizeQuery(query string) url.Values {
	s.t.Helper()
	resp := s.get("/auth/login?" + query)
	if resp.StatusCode != http.StatusFound {
		s.t.Fatalf("login?%s: %d %s", query, resp.StatusCode, body(resp))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		s.t.Fatal(err)
	}
	return loc.Query()
}

func TestLoginForwardsTheAllowedParameters(t *testing.T) {
	s := newStack(t)
	q := s.authorizeQuery("return_to=%2Fprofile&prompt=login+consent&login_hint=alice%40example.com&max_age=0" +
		"&acr_values=urn%3Amace%3Aincommon%3Aiap%3Asilver&ui_locales=fr-FR+en&display=page&organization=org_1&client_id=evil&redirect_uri=https%3A%2F%2Fevil.example")
	want := map[string]string{
		"prompt": "login consent", "login_hint": "alice@example.com", "max_age": "0",
		"acr_values": "urn:mace:incommon:iap:silver", "ui_locales": "fr-FR en", "display": "page",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if q.Has("organization") {
		t.Error("a parameter the provider does not declare was forwarded")
	}
	if q.Get("client_id") != "app" || strings.Contains(q.Get("redirect_uri"), "evil") || len(q["client_id"]) != 1 {
		t.Errorf("a request parameter overrode the client's own: client_id %q, redirect_uri %q", q["client_id"], q.Get("redirect_uri"))
	}
}

func TestLoginForwardsTheParametersAProviderDeclares(t *testing.T) {
	s := newStack(t, withMW(func(c *middleware.Config) {
		c.Providers[0].LoginParams = []string{"organization", "invitation", "screen_hint"}
	}))
	q := s.authorizeQuery("organization=org_123&invitation=inv_9&screen_hint=signup&tenant=x")
	if q.Get("organization") != "org_123" || q.Get("invitation") != "inv_9" || q.Get("screen_hint") != "signup" || q.Has("tenant") {
		t.Fatalf("declared parameters: %v", q)
	}
	if resp := s.get("/auth/login?organization=" + strings.Repeat("o", 600)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a 600-byte declared parameter: %d", resp.StatusCode)
	}
	if p := providers.Auth0("tenant.example.com", "id", "secret"); !contains(p.LoginParams, "organization") || !contains(p.LoginParams, "invitation") {
		t.Fatalf("the Auth0 preset does not declare organization and invitation: %v", p.LoginParams)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestLoginRefusesBadParameters(t *testing.T) {
	s := newStack(t)
	for name, query := range map[string]string{
		"unknown prompt":        "prompt=evil",
		"prompt none and login": "prompt=none+login",
		"negative max_age":      "max_age=-1",
		"max_age not a number":  "max_age=1e3",
		"huge max_age":          "max_age=99999999999999999999",
		"long login_hint":       "login_hint=" + strings.Repeat("a", 300),
		"control in login_hint": "login_hint=a%0Ab",
		"unknown display":       "display=tv",
		"bad ui_locales":        "ui_locales=fr%3Cscript%3E",
		"long acr_values":       "acr_values=" + strings.Repeat("a", 600),
		"twice":                 "prompt=login&prompt=consent",
	} {
		resp := s.get("/auth/login?" + query)
		b := body(resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "sign-in") {
			t.Errorf("%s: %d %q", name, resp.StatusCode, b)
		}
		if strings.Contains(b, "<script>") {
			t.Errorf("%s: the page echoes the input", name)
		}
	}
	if !strings.Contains(s.logs.String(), `"code":"invalid_login_parameter"`) {
		t.Fatalf("the refusals are not in the log")
	}
}

func TestMaxAgeIsCheckedAgainstAuthTime(t *testing.T) {
	s := newStack(t)
	s.login()
	// The provider session is old; the ID token's auth_time says so.
	old := time.Now().Add(-2 * time.Hour).Unix()
	s.setTokenHook(func(body, claims map[string]any) {
		claims["auth_time"] = old
		body["id_token"] = s.op.SignIDToken(claims)
	})
	resp, _ := s.follow(s.get("/auth/login?max_age=60&return_to=%2Fprofile"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body(resp), "sign in again") {
		t.Fatalf("an authentication older than max_age: %d %q", resp.StatusCode, body(resp))
	}
	// Without auth_time, max_age cannot be checked: refused too.
	s.setTokenHook(func(body, claims map[string]any) {
		delete(claims, "auth_time")
		body["id_token"] = s.op.SignIDToken(claims)
	})
	resp, _ = s.follow(s.get("/auth/login?max_age=60&return_to=%2Fprofile"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("no auth_time with max_age: %d %q", resp.StatusCode, body(resp))
	}
	// The provider's own answer: it signs the user in again.
	s.setTokenHook(nil)
	resp, _ = s.follow(s.get("/auth/login?max_age=0&return_to=%2Fprofile"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "email=alice@example.com") {
		t.Fatalf("max_age=0 with a fresh authentication: %d %q", resp.StatusCode, body(resp))
	}
}

func TestSilentLoginReturnsAnonymous(t *testing.T) {
	s := newStack(t)
	// No provider session: prompt=none comes back with login_required.
	resp, _ := s.follow(s.get("/auth/login?prompt=none&return_to=%2F%3Fpage%3D2"))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body(resp), "home") || resp.Request.URL.RequestURI() != "/?page=2" {
		t.Fatalf("silent login without a provider session: %d at %s %q", resp.StatusCode, resp.Request.URL, body(resp))
	}
	if len(s.sessionCookies()) != 0 {
		t.Fatal("a failed silent login left a session")
	}
	// With a provider session it signs in without a page.
	s.login()
	appURL, _ := url.Parse(s.appURL)
	for _, c := range s.sessionCookies() {
		s.client.Jar.SetCookies(appURL, []*http.Cookie{{Name: c.Name, Path: "/", MaxAge: -1}})
	}
	resp, _ = s.follow(s.get("/auth/login?prompt=none&return_to=%2Fprofile"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "email=alice@example.com") {
		t.Fatalf("silent login with a provider session: %d %q", resp.StatusCode, body(resp))
	}
}

// serveMaybe adds to s's application /maybe, a page that greets a
// signed-in user by name and tries a silent login for the others.
func serveMaybe(s *stack) {
	mux := http.NewServeMux()
	mux.Handle("/maybe", s.mw.TrySilentLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := middleware.SessionFromContext(r.Context()); ok {
			w.Write([]byte("hello " + u.Subject))
			return
		}
		w.Write([]byte("hello stranger"))
	})))
	mux.Handle("/", appRoutes(s.mw))
	h := s.mw.Handler(mux)
	s.handler.Store(&h)
}

func TestSilentLoginOnARoute(t *testing.T) {
	s := newStack(t)
	serveMaybe(s)

	// The first visit tries once, and comes back anonymous.
	resp, hops := s.follow(s.get("/maybe", "Accept", "text/html"))
	if resp.StatusCode != http.StatusOK || body(resp) != "hello stranger" {
		t.Fatalf("first visit: %d %q after %v", resp.StatusCode, body(resp), hops)
	}
	if n := s.count(devprovider.Authorize); n != 1 {
		t.Fatalf("the first visit asked the provider %d times, want once (prompt=none) after %v", n, hops)
	}
	// A prompt=none link while silent logins are held goes nowhere.
	resp, hops = s.follow(s.get("/auth/login?prompt=none&return_to=%2Fmaybe", "Accept", "text/html"))
	if body(resp) != "hello stranger" || len(hops) > 1 {
		t.Fatalf("prompt=none while held: %q after %v", body(resp), hops)
	}
	// It does not try again at every request: no loop.
	resp = s.get("/maybe", "Accept", "text/html")
	if resp.StatusCode != http.StatusOK || body(resp) != "hello stranger" {
		t.Fatalf("second visit: %d %q", resp.StatusCode, body(resp))
	}
	// An API call is never sent anywhere.
	resp = s.get("/maybe", "Accept", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("API call: %d", resp.StatusCode)
	}
	// A signed-in user goes straight through.
	s.login()
	resp = s.get("/maybe", "Accept", "text/html")
	if body(resp) != "hello alice" {
		t.Fatalf("signed in: %q", body(resp))
	}
}

// A provider without logout keeps its session after the user signs out:
// a silent login would sign them straight back in.
func TestNoSilentLoginAfterALogoutThatLeftTheProviderSession(t *testing.T) {
	s := newStack(t, withMW(func(c *middleware.Config) {
		issuer := c.Providers[0].Issuer
		c.Providers[0].Endpoints = providers.Endpoints{AuthURL: issuer + "/authorize", TokenURL: issuer + "/token", JWKSURL: issuer + "/jwks"}
	}))
	serveMaybe(s)

	s.login()
	resp, _ := s.follow(s.postLogout(s.appURL))
	if body(resp) != "home notice=local-only" {
		t.Fatalf("logout landed on %q", body(resp))
	}
	resp, hops := s.follow(s.get("/maybe", "Accept", "text/html"))
	if body(resp) != "hello stranger" {
		t.Fatalf("after a local-only logout: %q after %v", body(resp), hops)
	}
}

// stepUpStack serves /mfa, which demands the acr "mfa", and /recent, which
// demands an authentication at most five minutes old.
func stepUpStack(t *testing.T) *stack {
	s := newStack(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("served " + r.URL.Path)) })
	mux := http.NewServeMux()
	mux.Handle("/mfa", s.mw.RequireAuthentication(middleware.Authentication{ACR: []string{"mfa", "hwk"}})(ok))
	mux.Handle("/recent", s.mw.RequireAuthentication(middleware.Authentication{MaxAge: 5 * time.Minute})(ok))
	mux.Handle("/", appRoutes(s.mw))
	h := s.mw.Handler(mux)
	s.handler.Store(&h)
	return s
}

func (s *stack) signIDTokensWith(edit func(claims map[string]any)) {
	s.setTokenHook(func(body, claims map[string]any) {
		edit(claims)
		body["id_token"] = s.op.SignIDToken(claims)
	})
}

func TestStepUpToAnAuthenticationContext(t *testing.T) {
	s := stepUpStack(t)
	s.login() // with a password only: no acr
	resp := s.get("/mfa", "Accept", "text/html")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "acr_values=mfa+hwk") || !strings.Contains(loc, "return_to=%2Fmfa") {
		t.Fatalf("a session without the acr: %d %q", resp.StatusCode, loc)
	}
	api := s.get("/mfa", "Accept", "application/json")
	if api.StatusCode != http.StatusUnauthorized || !strings.Contains(api.Header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`) ||
		!strings.Contains(api.Header.Get("WWW-Authenticate"), `acr_values="mfa hwk"`) {
		t.Fatalf("an API call without the acr: %d %q", api.StatusCode, api.Header.Get("WWW-Authenticate"))
	}
	// The provider answers with a weaker context: refused at the callback,
	// not sent round again.
	s.signIDTokensWith(func(c map[string]any) { c["acr"] = "pwd" })
	final, hops := s.follow(resp)
	if final.StatusCode != http.StatusBadRequest || len(hops) > 6 {
		t.Fatalf("a weaker acr: %d after %d hops", final.StatusCode, len(hops))
	}
	// The provider grants it: the route serves.
	s.signIDTokensWith(func(c map[string]any) { c["acr"] = "hwk" })
	final, _ = s.follow(s.get("/mfa", "Accept", "text/html"))
	if final.StatusCode != http.StatusOK || body(final) != "served /mfa" {
		t.Fatalf("with the acr: %d %q", final.StatusCode, body(final))
	}
}

// A provider that ignores max_age and answers from its session with an
// auth_time just past the route's limit, within the callback's leeway,
// must not send the browser round in a loop.
func TestStepUpDoesNotLoopAtTheLimit(t *testing.T) {
	s := stepUpStack(t)
	s.signIDTokensWith(func(c map[string]any) { c["auth_time"] = time.Now().Add(-5*time.Minute - 30*time.Second).Unix() })
	s.login()
	final, hops := s.follow(s.get("/recent", "Accept", "text/html"))
	if final.StatusCode != http.StatusOK || len(hops) > 6 {
		t.Fatalf("an auth_time 30 s past the route's max_age: %d after %d hops", final.StatusCode, len(hops))
	}
}

func TestStepUpToARecentAuthentication(t *testing.T) {
	s := stepUpStack(t)
	s.signIDTokensWith(func(c map[string]any) { c["auth_time"] = time.Now().Add(-time.Hour).Unix() })
	s.login()
	resp := s.get("/recent", "Accept", "text/html")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "max_age=300") {
		t.Fatalf("an hour-old authentication: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	s.setTokenHook(nil) // the provider signs the user in again
	final, _ := s.follow(resp)
	if final.StatusCode != http.StatusOK || body(final) != "served /recent" {
		t.Fatalf("after signing in again: %d %q", final.StatusCode, body(final))
	}
	if resp := s.get("/recent", "Accept", "text/html"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the fresh session: %d", resp.StatusCode)
	}
}
