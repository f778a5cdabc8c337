package endsession_test

// End-to-end tests of logout started by the provider: back-channel and
// front-channel logout.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// withBackchannel registers the application's back-channel logout URI at
// the provider.
var withBackchannel = withOP(func(op *devprovider.Config) {
	prefix := strings.TrimSuffix(op.Clients[0].RedirectURIs[0], "/callback")
	op.Clients[0].BackchannelLogoutURI = prefix + "/backchannel-logout"
})

// postLogoutToken posts a logout token as the provider does, from a client
// without cookies.
func (s *stack) postLogoutToken(token string) *http.Response {
	s.t.Helper()
	resp, err := http.PostForm(s.appURL+"/auth/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		s.t.Fatal(err)
	}
	body(resp)
	resp.Body.Close()
	return resp
}

// sid returns the provider session id of the browser's session.
func (s *stack) sid() string {
	s.t.Helper()
	resp := s.get("/sid")
	if resp.StatusCode != http.StatusOK || body(resp) == "" {
		s.t.Fatalf("/sid: %d %q", resp.StatusCode, body(resp))
	}
	return body(resp)
}

func (s *stack) loggedOut() bool {
	s.t.Helper()
	resp := s.get("/profile")
	switch resp.StatusCode {
	case http.StatusOK:
		return false
	case http.StatusSeeOther:
		return true
	}
	s.t.Fatalf("/profile: %d %s", resp.StatusCode, body(resp))
	return false
}

func TestBackchannelLogout(t *testing.T) {
	s := newStack(t, withBackchannel)
	s.login()
	if err := s.op.LogoutUser("alice"); err != nil {
		t.Fatalf("the provider's back-channel logout failed: %v", err)
	}
	if !s.loggedOut() {
		t.Fatal("the session survived back-channel logout")
	}
	if !strings.Contains(s.logs.String(), `"event":"backchannel_logout"`) {
		t.Error("no back-channel logout event in the logs")
	}
	// A new login right away is a new session, untouched by the logout.
	s.login()
	if s.loggedOut() {
		t.Fatal("the session after a new login was ended too")
	}
}

func TestBackchannelLogoutBySubject(t *testing.T) {
	s := newStack(t)
	s.login()
	resp := s.postLogoutToken(s.op.LogoutToken("app", "alice", "", nil))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" || body(resp) != "" {
		t.Fatalf("logout token by sub: %d %q %q", resp.StatusCode, resp.Header.Get("Cache-Control"), body(resp))
	}
	if !s.loggedOut() {
		t.Fatal("the session survived a logout token naming its subject")
	}
	// Sessions are timed to the second: one created later than the logout
	// is not matched.
	nextSecond()
	s.login()
	if s.loggedOut() {
		t.Fatal("a session created after the logout was ended")
	}
}

// nextSecond waits for the next second: sessions are timed to the second,
// and one created in the same second as a logout that matches it ends too.
func nextSecond() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
}

// logoutClaims returns valid logout token claims for alice's session.
func (s *stack) logoutClaims(sid string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": s.op.Issuer(), "aud": "app", "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": "jti-" + now.Format(time.RFC3339Nano), "sub": "alice", "sid": sid,
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
}

func TestBackchannelRejectsBadTokens(t *testing.T) {
	s := newStack(t)
	s.login()
	sid := s.sid()
	edit := func(f func(c map[string]any)) string { return s.op.LogoutToken("app", "alice", sid, f) }
	cases := []struct {
		name  string
		token func() string
	}{
		{"nonce present", func() string { return edit(func(c map[string]any) { c["nonce"] = "n" }) }},
		{"wrong audience", func() string { return edit(func(c map[string]any) { c["aud"] = "other-app" }) }},
		{"wrong issuer", func() string { return edit(func(c map[string]any) { c["iss"] = "https://evil.example" }) }},
		{"no event", func() string { return edit(func(c map[string]any) { delete(c, "events") }) }},
		{"event not an object", func() string {
			return edit(func(c map[string]any) {
				c["events"] = map[string]any{"http://schemas.openid.net/event/backchannel-logout": "yes"}
			})
		}},
		{"neither sid nor sub", func() string { return s.op.LogoutToken("app", "", "", nil) }},
		{"no jti", func() string { return edit(func(c map[string]any) { delete(c, "jti") }) }},
		{"no iat", func() string { return edit(func(c map[string]any) { delete(c, "iat") }) }},
		{"iat in the future", func() string {
			return edit(func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() })
		}},
		{"expired", func() string {
			return edit(func(c map[string]any) {
				c["iat"] = time.Now().Add(-5 * time.Minute).Unix()
				c["exp"] = time.Now().Add(-3 * time.Minute).Unix()
			})
		}},
		{"no exp and an old iat", func() string {
			return edit(func(c map[string]any) {
				delete(c, "exp")
				c["iat"] = time.Now().Add(-10 * time.Minute).Unix()
			})
		}},
		{"alg none", func() string { return s.op.Forge(s.logoutClaims(sid), devprovider.ForgeNone) }},
		{"HS256 with the public key", func() string { return s.op.Forge(s.logoutClaims(sid), devprovider.ForgeHS256PublicKey) }},
		{"unknown kid", func() string { return s.op.Forge(s.logoutClaims(sid), devprovider.ForgeUnknownKey) }},
		{"an ID token", func() string { return s.op.SignIDToken(s.op.IDTokenClaims("app", "alice")) }},
		{"not a JWT", func() string { return "not-a-jwt" }},
		{"a JWE", func() string { return "a.b.c.d.e" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token()
			resp := s.postLogoutToken(token)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal([]byte(body(resp)), &e); err != nil || e.Error != "invalid_request" || e.Description == "" {
				t.Errorf("body %q, want a JSON invalid_request error", body(resp))
			}
			if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", resp.Header)
			}
			if len(token) > 20 && strings.Contains(body(resp), token[:20]) || strings.Contains(s.logs.String(), token) {
				t.Error("the token was echoed or logged")
			}
			if s.loggedOut() {
				t.Fatal("a rejected token ended the session")
			}
		})
	}
	t.Run("missing token", func(t *testing.T) {
		resp, err := http.PostForm(s.appURL+"/auth/backchannel-logout", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(s.appURL + "/auth/backchannel-logout?logout_token=" + edit(nil))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || s.loggedOut() {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("replayed jti", func(t *testing.T) {
		// A token about another user, so that alice's session stays.
		token := s.op.LogoutToken("app", "bob", "", nil)
		if resp := s.postLogoutToken(token); resp.StatusCode != http.StatusOK {
			t.Fatalf("first delivery: %d %s", resp.StatusCode, body(resp))
		}
		if resp := s.postLogoutToken(token); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("replay: %d, want 400", resp.StatusCode)
		}
		if !strings.Contains(s.logs.String(), "replayed") {
			t.Error("the replay was not logged with its reason")
		}
		if s.loggedOut() {
			t.Fatal("alice was logged out by bob's token")
		}
	})
}

// Providers that follow the 2022 text of the specification send no exp.
func TestBackchannelAcceptsTokenWithoutExp(t *testing.T) {
	s := newStack(t)
	s.login()
	token := s.op.LogoutToken("app", "alice", s.sid(), func(c map[string]any) { delete(c, "exp") })
	if resp := s.postLogoutToken(token); resp.StatusCode != http.StatusOK {
		t.Fatalf("token without exp: %d %s", resp.StatusCode, body(resp))
	}
	if !s.loggedOut() {
		t.Fatal("the session survived")
	}
}

// failingStore is the cookie store with an EndMatching that fails while
// down is set.
type failingStore struct {
	*session.CookieStore
	down atomic.Bool
}

func (f *failingStore) EndMatching(ctx context.Context, m session.Match) error {
	if f.down.Load() {
		return session.ErrUnavailable
	}
	return f.CookieStore.EndMatching(ctx, m)
}

func TestBackchannelStoreDown(t *testing.T) {
	cookies, err := session.NewCookieStore(session.CookieOptions{Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	store := &failingStore{CookieStore: cookies}
	s := newStack(t, withMW(func(c *middleware.Config) { c.Store = store }))
	s.login()
	store.down.Store(true)
	token := s.op.LogoutToken("app", "alice", s.sid(), nil)
	resp := s.postLogoutToken(token)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body(resp), "temporarily_unavailable") {
		t.Fatalf("store down: %d %s", resp.StatusCode, body(resp))
	}
	// The provider's retry of the same token is not taken for a replay.
	store.down.Store(false)
	if resp := s.postLogoutToken(token); resp.StatusCode != http.StatusOK {
		t.Fatalf("retry: %d %s", resp.StatusCode, body(resp))
	}
	if !s.loggedOut() {
		t.Fatal("the session survived")
	}
}

func TestFrontchannelLogout(t *testing.T) {
	s := newStack(t)
	s.login()
	q := url.Values{"iss": {s.op.Issuer()}, "sid": {s.sid()}}

	// The provider's iframe is a third-party context: no cookie comes with
	// it. The session ends on the server side all the same.
	resp, err := http.Get(s.appURL + "/auth/frontchannel-logout?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("front-channel logout: %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	op, _ := url.Parse(s.op.Issuer())
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors "+op.Scheme+"://"+op.Host) || strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want frame-ancestors %s://%s", csp, op.Scheme, op.Host)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options = %q: the provider could not frame the page", xfo)
	}
	if !s.loggedOut() {
		t.Fatal("the session survived front-channel logout")
	}

	// When the browser does send its cookie, it is expired at once. (The
	// provider session, and so the sid, is the same: the new session must
	// start in a later second than the logout.)
	nextSecond()
	s.login()
	q.Set("sid", s.sid())
	resp = s.get("/auth/frontchannel-logout?" + q.Encode())
	expired := false
	for _, c := range resp.Cookies() {
		if c.Name == "endsession" && c.MaxAge < 0 {
			expired = true
		}
	}
	if resp.StatusCode != http.StatusOK || !expired {
		t.Fatalf("front-channel logout with the session cookie: %d, cookie expired %v", resp.StatusCode, expired)
	}
	if len(s.sessionCookies()) != 0 {
		t.Fatal("the browser kept its session cookie")
	}
}

func TestFrontchannelLogoutRejectsBadRequests(t *testing.T) {
	s := newStack(t)
	s.login()
	sid := s.sid()
	for name, q := range map[string]url.Values{
		"no sid":         {"iss": {s.op.Issuer()}},
		"no iss":         {"sid": {sid}},
		"unknown issuer": {"iss": {"https://evil.example"}, "sid": {sid}},
		"two sids":       {"iss": {s.op.Issuer()}, "sid": {sid, "x"}},
	} {
		resp, err := http.Get(s.appURL + "/auth/frontchannel-logout?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if s.loggedOut() {
		t.Fatal("a bad front-channel request ended the session")
	}
}

// With a server-side store, back-channel logout deletes the records.
func TestBackchannelLogoutWithServerStore(t *testing.T) {
	backend := session.NewMemoryBackend(session.MemoryOptions{})
	t.Cleanup(func() { backend.Close() })
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, withBackchannel, withMW(func(c *middleware.Config) { c.Store = store }))
	s.login()
	if err := s.op.LogoutUser("alice"); err != nil {
		t.Fatal(err)
	}
	if n := backend.Len(); n != 0 {
		t.Errorf("%d records after back-channel logout, want 0", n)
	}
	if !s.loggedOut() {
		t.Fatal("the session survived back-channel logout")
	}
	s.login()
	if s.loggedOut() {
		t.Fatal("the session after a new login was ended too")
	}
}
