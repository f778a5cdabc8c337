package endsession_test

// Hostile input through the real routes: every case names the attack, the
// status it must get, and proves that no session was created and that
// nothing leaked into the response or the logs.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// personal is what the development provider says about alice: none of it
// may reach the logs. The subject ("alice") counts as personal data: it
// names the user at the provider, so the logs never hold it either, and
// neither does the provider's session id.
var personal = []string{"alice", "Alice", "Liddell", "app-secret"}

// assertNoSession checks that resp set no live session cookie and that
// the browser holds none.
func (s *stack) assertNoSession(t *testing.T, resp *http.Response) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if (c.Name == "endsession" || strings.HasPrefix(c.Name, "endsession.")) && c.MaxAge >= 0 && c.Value != "" {
			t.Errorf("the response set session cookie %s", c.Name)
		}
	}
	if n := len(s.sessionCookies()); n != 0 {
		t.Errorf("the browser holds %d session cookie(s)", n)
	}
}

// assertNoLeak checks that no code, token, cookie value or personal claim
// seen so far is in the logs or in texts (the bodies of hostile answers).
func (s *stack) assertNoLeak(t *testing.T, texts ...string) {
	t.Helper()
	s.mu.Lock()
	secrets := append([]string(nil), s.secrets...)
	s.mu.Unlock()
	logs := s.logs.String()
	for _, secret := range secrets {
		if len(secret) < 8 {
			continue
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold a secret value (%.12s…)", secret)
		}
		for _, text := range texts {
			if strings.Contains(text, secret) {
				t.Errorf("a response holds a secret value (%.12s…)", secret)
			}
		}
	}
	for _, p := range personal {
		if strings.Contains(logs, p) {
			t.Errorf("the logs hold personal data %q", p)
		}
	}
}

// redeemed counts the token requests the provider received.
func (s *stack) redeemed() int {
	n := 0
	for _, r := range s.op.Requests() {
		if r.Path == string(devprovider.Token) {
			n++
		}
	}
	return n
}

// browserResolve resolves a Location header as a browser does for an
// http(s) page: tabs and newlines are dropped and a backslash counts as a
// slash (WHATWG URL), then the reference is resolved against base.
func browserResolve(base *url.URL, loc string) (*url.URL, error) {
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(ref), nil
}

// hostileReturnTargets are return targets that must never send the user
// anywhere but the application.
var hostileReturnTargets = []struct{ name, target string }{
	{"protocol-relative", "//evil.example"},
	{"protocol-relative with three slashes", "///evil.example"},
	{"slash backslash", `/\evil.example`},
	{"backslash slash", `\/evil.example`},
	{"scheme without slashes", "https:evil.example"},
	{"encoded slashes", "/%2F%2Fevil.example"},
	{"encoded backslash", "/%5Cevil.example"},
	{"javascript scheme", "javascript:alert(document.cookie)"},
	{"data scheme", "data:text/html,<script>alert(1)</script>"},
	{"tab inside the scheme", "java\tscript:alert(1)"},
	{"newline inside the scheme", "java\nscript:alert(1)"},
	{"tab between slashes", "/\t/evil.example"},
	{"other host", "https://evil.example/profile"},
	{"other port of this host", "http://127.0.0.1:1/profile"},
	{"userinfo trick", "https://app@evil.example"},
	{"header injection", "/\r\nSet-Cookie: endsession=x"},
	{"very long", "/" + strings.Repeat("a", 70<<10)},
}

// TestHostileReturnTargets sends each hostile target through login and
// through logout and checks where the user finally lands.
func TestHostileReturnTargets(t *testing.T) {
	s := newStack(t)
	app, _ := url.Parse(s.appURL)
	landing := func(t *testing.T, resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("final answer: %d %s", resp.StatusCode, body(resp))
		}
		loc := resp.Header.Get("Location")
		final, err := browserResolve(app, loc)
		if err != nil || final.Host != app.Host || final.Scheme != app.Scheme {
			t.Fatalf("Location %q leaves the application", loc)
		}
		if loc != "/" {
			t.Fatalf("Location = %q, want the default /", loc)
		}
	}
	for _, tc := range hostileReturnTargets {
		t.Run("login/"+tc.name, func(t *testing.T) {
			r := s.get("/auth/login?return_to=" + url.QueryEscape(tc.target))
			if r.StatusCode != http.StatusFound {
				t.Fatalf("login: %d %s", r.StatusCode, body(r))
			}
			r = s.get(r.Header.Get("Location"))
			cb := s.get(r.Header.Get("Location"))
			landing(t, cb)
			s.assertNoLeak(t, body(cb))
		})
		t.Run("logout/"+tc.name, func(t *testing.T) {
			s.login()
			req, _ := http.NewRequest(http.MethodPost, s.appURL+"/auth/logout",
				strings.NewReader(url.Values{"return_to": {tc.target}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.appURL)
			out := s.do(req)
			if out.StatusCode != http.StatusSeeOther || !strings.HasPrefix(out.Header.Get("Location"), s.op.Issuer()) {
				t.Fatalf("logout: %d %s", out.StatusCode, out.Header.Get("Location"))
			}
			back := s.get(out.Header.Get("Location"))
			land := s.get(back.Header.Get("Location"))
			landing(t, land)
			s.assertNoSession(t, land)
			s.assertNoLeak(t, body(land))
		})
	}
}

// rawGet sends a GET with exactly the given Cookie header, outside the
// browser's jar.
func (s *stack) rawGet(t *testing.T, path, cookie string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.appURL+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	c := &http.Client{
		Transport:     &recordingTransport{s: s, next: http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

// cookieHeader joins cookies as a browser sends them.
func cookieHeader(cookies ...*http.Cookie) string {
	parts := make([]string, len(cookies))
	for i, c := range cookies {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, "; ")
}

func flipBit(v string) string {
	b := []byte(v)
	b[len(b)/2] ^= 0x01
	return string(b)
}

// TestHostileSessionCookies sends altered session cookies to a protected
// page: each must count as no session (a redirect to login), have its
// cookies expired, be logged with a correlation id, and leak nothing.
func TestHostileSessionCookies(t *testing.T) {
	s := newStack(t)
	s.op.SetUserClaims("alice", map[string]any{"blob": strings.Repeat("x", 5<<10)})
	s.login()
	own := s.sessionCookies()
	if len(own) < 2 {
		t.Fatalf("want a chunked session, got %d cookie(s)", len(own))
	}
	other := newBrowser(t)
	s.client, other = other, s.client
	s.login()
	theirs := s.sessionCookies()
	s.client = other
	// A session written under a key that is then removed.
	oldKey := session.KeyPair{HashKey: bytes.Repeat([]byte{1}, 32), BlockKey: bytes.Repeat([]byte{2}, 32)}
	s.restart(func(c *middleware.Config) { c.Keys = []session.KeyPair{oldKey} })
	s.client = newBrowser(t)
	s.login()
	underOldKey := s.sessionCookies()
	s.restart(func(c *middleware.Config) { c.Keys = testKeys })
	// The cases send their cookies themselves, from an empty browser.
	s.client = newBrowser(t)

	with := func(i int, value string) []*http.Cookie {
		out := make([]*http.Cookie, len(own))
		for j, c := range own {
			out[j] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
		out[i].Value = value
		return out
	}
	last := len(own) - 1
	cases := []struct{ name, cookie string }{
		{"bit flip in the first chunk", cookieHeader(with(0, flipBit(own[0].Value))...)},
		{"bit flip in the last chunk", cookieHeader(with(last, flipBit(own[last].Value))...)},
		{"truncated first chunk", cookieHeader(with(0, own[0].Value[:len(own[0].Value)/2])...)},
		{"truncated last chunk", cookieHeader(with(last, own[last].Value[:1])...)},
		{"last chunk missing", cookieHeader(own[:last]...)},
		{"first chunk missing", cookieHeader(own[1:]...)},
		{"chunks reordered", cookieHeader(with(0, own[1].Value)[:1][0], &http.Cookie{Name: own[1].Name, Value: own[0].Value})},
		{"chunk taken from another session", cookieHeader(own[0], theirs[1])},
		{"chunk duplicated", cookieHeader(append(own, own[last])...)},
		{"extra chunk past the end", cookieHeader(append(own, &http.Cookie{Name: "endsession.6", Value: own[1].Value})...)},
		{"chunk number out of range", cookieHeader(own[0], &http.Cookie{Name: "endsession.99", Value: own[1].Value})},
		{"cookie under a removed key", cookieHeader(underOldKey...)},
		{"invalid UTF-8", "endsession=\xff\xfe\xfd"},
		{"not base64", "endsession=%%%%****"},
		{"empty chunk", cookieHeader(with(last, "")...)},
		{"quoted garbage", `endsession="AAAA"`},
		{"many chunks", func() string {
			var cs []*http.Cookie
			for i := range 40 {
				cs = append(cs, &http.Cookie{Name: chunkName(i), Value: own[0].Value})
			}
			return cookieHeader(cs...)
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(s.logs.String(), `"code":"invalid_cookie"`)
			resp := s.rawGet(t, "/profile", tc.cookie)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
				t.Fatalf("got %d %s, want a redirect to login", resp.StatusCode, resp.Header.Get("Location"))
			}
			s.assertNoSession(t, resp)
			expired := false
			for _, c := range resp.Cookies() {
				expired = expired || (c.Name == "endsession" && c.MaxAge < 0)
			}
			if !expired {
				t.Error("the rejected session cookie was not expired")
			}
			if strings.Count(s.logs.String(), `"code":"invalid_cookie"`) != before+1 {
				t.Error("the rejected cookie was not logged once")
			}
			s.assertNoLeak(t, body(resp))
		})
	}
	t.Run("oversized Cookie header", func(t *testing.T) {
		resp := s.rawGet(t, "/profile", "endsession="+strings.Repeat("A", 2<<20))
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a 2 MiB Cookie header: %d, want 431", resp.StatusCode)
		}
		if resp := s.rawGet(t, "/", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("the server does not answer after an oversized header: %d", resp.StatusCode)
		}
		s.assertNoLeak(t, body(resp))
	})
	t.Run("the real session still works", func(t *testing.T) {
		if resp := s.rawGet(t, "/profile", cookieHeader(own...)); resp.StatusCode != http.StatusOK {
			t.Fatalf("the untouched session: %d", resp.StatusCode)
		}
	})
}

func chunkName(i int) string {
	if i == 0 {
		return "endsession"
	}
	return "endsession." + strconv.Itoa(i)
}

// flowCookies returns the browser's login flow cookies.
func (s *stack) flowCookies() []*http.Cookie {
	u, _ := url.Parse(s.appURL + "/auth/")
	var out []*http.Cookie
	for _, c := range s.client.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "endsession_flow_") {
			out = append(out, c)
		}
	}
	return out
}

func withQuery(u *url.URL, edit func(q url.Values)) string {
	q := u.Query()
	edit(q)
	c := *u
	c.RawQuery = q.Encode()
	return c.String()
}

// TestHostileCallbacks attacks the login callback. Each case prepares a
// login up to the provider's redirect, then sends its own callback
// request; redeem says whether the provider may be asked to redeem a
// code (only when the code itself is what is wrong).
func TestHostileCallbacks(t *testing.T) {
	cases := []struct {
		name   string
		status int
		redeem bool
		run    func(t *testing.T, s *stack, cb *url.URL) *http.Response
	}{
		{"state missing", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Del("state") }))
		}},
		{"state malformed", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Set("state", "../../"+q.Get("state")) }))
		}},
		{"state of another login", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Set("state", strings.Repeat("A", 26)) }))
		}},
		{"state replayed with a fresh code", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			// Someone who saw the first login's authorize request and flow
			// cookie gets a new code for the same state and replays both.
			flows := s.flowCookies()
			if r := s.get(cb.String()); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("first callback: %d", r.StatusCode)
			}
			s.logoutLocally(t)
			u, _ := url.Parse(s.appURL + "/auth/")
			for _, c := range flows {
				s.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/auth"}})
			}
			again := s.get(s.authorizeURL)
			replay, _ := url.Parse(again.Header.Get("Location"))
			if replay.Query().Get("state") != cb.Query().Get("state") || replay.Query().Get("code") == cb.Query().Get("code") {
				t.Fatalf("the provider did not issue a new code for the same state: %s", replay)
			}
			s.mu.Lock()
			s.redeemedBefore = s.redeemed()
			s.mu.Unlock()
			return s.get(replay.String())
		}},
		{"state expired", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			s.advance(11 * time.Minute)
			return s.get(cb.String())
		}},
		{"state from another browser", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			s.client = newBrowser(t)
			return s.get(cb.String())
		}},
		{"flow cookie of another state", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			mine := s.flowCookies()[0]
			s.callbackURL()
			u, _ := url.Parse(s.appURL + "/auth/")
			for _, c := range s.flowCookies() {
				if c.Name != mine.Name {
					s.client.Jar.SetCookies(u, []*http.Cookie{{Name: mine.Name, Value: c.Value, Path: "/auth"}})
				}
			}
			return s.get(cb.String())
		}},
		{"flow cookie tampered", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			c := s.flowCookies()[0]
			u, _ := url.Parse(s.appURL + "/auth/")
			s.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: flipBit(c.Value), Path: "/auth"}})
			return s.get(cb.String())
		}},
		{"code replayed in another login", 400, true, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			if r := s.get(cb.String()); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("first callback: %d", r.StatusCode)
			}
			// The attacker, in a browser of his own, pastes the stolen code
			// into a login of his.
			s.client = newBrowser(t)
			mine := s.callbackURL()
			return s.get(withQuery(mine, func(q url.Values) { q.Set("code", cb.Query().Get("code")) }))
		}},
		{"code made up", 400, true, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Set("code", "made-up-code") }))
		}},
		{"code missing", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Del("code") }))
		}},
		{"iss forged", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Set("iss", "https://evil.example") }))
		}},
		{"iss missing", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Del("iss") }))
		}},
		{"iss twice", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Add("iss", "https://evil.example") }))
		}},
		{"error with HTML", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			r := s.get(withQuery(cb, func(q url.Values) {
				q.Del("code")
				q.Set("error", `<script>alert("x")</script>`)
				q.Set("error_description", "<img src=x onerror=alert(1)>")
				q.Set("error_uri", "javascript:alert(1)")
			}))
			for _, bad := range []string{"<script>", "alert", "onerror", "javascript:"} {
				if strings.Contains(body(r), bad) || strings.Contains(s.logs.String(), bad) {
					t.Errorf("the provider's error text %q was echoed", bad)
				}
			}
			return r
		}},
		{"error access_denied", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }))
		}},
		{"error with a code as well", 400, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			return s.get(withQuery(cb, func(q url.Values) { q.Set("error", "server_error") }))
		}},
		{"callback by POST", 405, false, func(t *testing.T, s *stack, cb *url.URL) *http.Response {
			req, _ := http.NewRequest(http.MethodPost, cb.String(), strings.NewReader(cb.RawQuery))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return s.do(req)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			cb := s.callbackURL()
			before := s.redeemed()
			resp := tc.run(t, s, cb)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body(resp))
			}
			s.mu.Lock()
			if s.redeemedBefore > 0 {
				before = s.redeemedBefore
			}
			s.mu.Unlock()
			if !tc.redeem && s.redeemed() != before {
				t.Error("the provider was asked to redeem a code")
			}
			s.assertNoSession(t, resp)
			s.assertNoLeak(t, body(resp))
			s.assertErrorPage(t, resp)
		})
	}
}

// logoutLocally drops the browser's session cookies.
func (s *stack) logoutLocally(t *testing.T) {
	t.Helper()
	u, _ := url.Parse(s.appURL)
	for _, c := range s.sessionCookies() {
		s.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: "", Path: "/", MaxAge: -1}})
	}
}

// assertErrorPage checks an error answer of the middleware: its own page
// with the correlation id that the logs hold, and the auth headers.
func (s *stack) assertErrorPage(t *testing.T, resp *http.Response) {
	t.Helper()
	page := body(resp)
	i := strings.Index(page, "Reference: ")
	if i < 0 {
		t.Fatalf("the error page shows no reference: %q", page)
	}
	id := page[i+len("Reference: "):]
	id = id[:strings.IndexByte(id, '<')]
	if !strings.Contains(s.logs.String(), `"correlation_id":"`+id+`"`) {
		t.Errorf("no log line carries the page's reference %q", id)
	}
	for _, internal := range []string{"oidc:", "oauth2:", "securecookie", "endsession:", "crypto/", "invalid character"} {
		if strings.Contains(page, internal) {
			t.Errorf("the error page shows an internal error (%q)", internal)
		}
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

// withoutUserInfo turns userinfo off, so that the ID token alone is
// checked: the userinfo subject comparison would hide a missing check.
func withoutUserInfo(_ *devprovider.Config, mw *middleware.Config) {
	if mw != nil {
		mw.Providers[0].UserInfo = false
	}
}

// TestHostileIDTokens makes the provider's token endpoint hand the
// middleware ID tokens it must reject: 400 (502 for a missing token), no
// session, nothing leaked.
func TestHostileIDTokens(t *testing.T) {
	cases := []struct {
		name   string
		status int
		forge  func(s *stack, body, claims map[string]any)
	}{
		{"alg none", 400, func(s *stack, body, claims map[string]any) {
			body["id_token"] = s.op.Forge(claims, devprovider.ForgeNone)
		}},
		{"HS256 with the public key", 400, func(s *stack, body, claims map[string]any) {
			body["id_token"] = s.op.Forge(claims, devprovider.ForgeHS256PublicKey)
		}},
		{"unknown kid", 400, func(s *stack, body, claims map[string]any) {
			body["id_token"] = s.op.Forge(claims, devprovider.ForgeUnknownKey)
		}},
		{"signature of other claims", 400, func(s *stack, body, claims map[string]any) {
			parts := strings.Split(body["id_token"].(string), ".")
			claims["sub"] = "mallory"
			forged := strings.Split(s.op.Forge(claims, devprovider.ForgeNone), ".")
			body["id_token"] = parts[0] + "." + forged[1] + "." + parts[2]
		}},
		// From the token endpoint itself, another issuer is the site's
		// configuration (Issuer) not matching the provider: 500, the
		// misconfiguration page.
		{"wrong issuer", 500, func(s *stack, body, claims map[string]any) {
			claims["iss"] = "https://evil.example"
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"wrong audience", 400, func(s *stack, body, claims map[string]any) {
			claims["aud"], claims["azp"] = "other-app", "other-app"
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"expired", 400, func(s *stack, body, claims map[string]any) {
			claims["iat"], claims["exp"] = time.Now().Add(-20*time.Minute).Unix(), time.Now().Add(-10*time.Minute).Unix()
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"exp missing", 400, func(s *stack, body, claims map[string]any) {
			delete(claims, "exp")
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"iat in the future", 400, func(s *stack, body, claims map[string]any) {
			claims["iat"], claims["exp"] = time.Now().Add(time.Hour).Unix(), time.Now().Add(2*time.Hour).Unix()
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"iat missing", 400, func(s *stack, body, claims map[string]any) {
			delete(claims, "iat")
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"nonce missing", 400, func(s *stack, body, claims map[string]any) {
			delete(claims, "nonce")
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"nonce wrong", 400, func(s *stack, body, claims map[string]any) {
			claims["nonce"] = "not-the-nonce"
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"nonce of the token response wrong", 400, func(s *stack, body, claims map[string]any) {
			body["nonce"] = "not-the-nonce"
		}},
		{"azp wrong with an array audience", 400, func(s *stack, body, claims map[string]any) {
			claims["aud"], claims["azp"] = []string{"app", "other-app"}, "other-app"
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"azp missing with several audiences", 400, func(s *stack, body, claims map[string]any) {
			claims["aud"] = []string{"app", "other-app"}
			delete(claims, "azp")
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"at_hash wrong", 400, func(s *stack, body, claims map[string]any) {
			claims["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"sub missing", 400, func(s *stack, body, claims map[string]any) {
			delete(claims, "sub")
			body["id_token"] = s.op.SignIDToken(claims)
		}},
		{"logout token instead", 400, func(s *stack, body, claims map[string]any) {
			body["id_token"] = s.op.LogoutToken("app", "alice", "", nil)
		}},
		{"no ID token", 502, func(s *stack, body, claims map[string]any) {
			delete(body, "id_token")
		}},
		{"not a JWT", 400, func(s *stack, body, claims map[string]any) {
			body["id_token"] = "not.a-jwt"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, withoutUserInfo)
			s.setTokenHook(func(body, claims map[string]any) { tc.forge(s, body, claims) })
			r := s.get("/auth/login?return_to=/profile")
			r = s.get(r.Header.Get("Location"))
			resp := s.get(r.Header.Get("Location"))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body(resp))
			}
			s.assertNoSession(t, resp)
			s.assertNoLeak(t, body(resp))
			s.assertErrorPage(t, resp)
			// The same stack logs in once the provider behaves.
			s.setTokenHook(nil)
			if r, _ := s.follow(s.get("/profile")); r.StatusCode != http.StatusOK {
				t.Fatalf("a good login after the rejected one: %d", r.StatusCode)
			}
		})
	}
}

// TestHostileServerStoreCookies sends altered session cookies with the
// server-side store: the cookie holds only a signed session id, and an
// altered one must be no session, expired, logged, and leak nothing.
func TestHostileServerStoreCookies(t *testing.T) {
	backend := session.NewMemoryBackend(session.MemoryOptions{})
	t.Cleanup(func() { backend.Close() })
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			mw.Store = store
		}
	})
	s.login()
	own := s.sessionCookies()
	if len(own) != 1 {
		t.Fatalf("want one session cookie, got %d", len(own))
	}
	// A session id signed under another key, for the same backend.
	otherKey := session.KeyPair{HashKey: bytes.Repeat([]byte{3}, 32), BlockKey: bytes.Repeat([]byte{4}, 32)}
	foreign, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: []session.KeyPair{otherKey}, Name: "endsession"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := foreign.Save(rec, httptest.NewRequest(http.MethodGet, "/", nil), &session.Data{Provider: "dev", Subject: "mallory",
		Expires: time.Now().Add(time.Hour), Created: time.Now(), LastSeen: time.Now()}); err != nil {
		t.Fatal(err)
	}
	forged := rec.Result().Cookies()[0]
	s.client = newBrowser(t)
	v := own[0].Value
	cases := []struct{ name, cookie string }{
		{"server store: bit flip", "endsession=" + flipBit(v)},
		{"server store: truncated", "endsession=" + v[:len(v)/2]},
		{"server store: id signed under another key", "endsession=" + forged.Value},
		{"server store: invalid UTF-8", "endsession=\xff\xfe\xfd"},
		{"server store: not base64", "endsession=%%%%****"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(s.logs.String(), `"code":"invalid_cookie"`)
			resp := s.rawGet(t, "/profile", tc.cookie)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
				t.Fatalf("got %d %s, want a redirect to login", resp.StatusCode, resp.Header.Get("Location"))
			}
			s.assertNoSession(t, resp)
			if strings.Count(s.logs.String(), `"code":"invalid_cookie"`) != before+1 {
				t.Error("the rejected cookie was not logged once")
			}
			s.assertNoLeak(t, body(resp))
		})
	}
	if resp := s.rawGet(t, "/profile", "endsession="+v); resp.StatusCode != http.StatusOK {
		t.Fatalf("the untouched session: %d", resp.StatusCode)
	}
}

// TestHostileLogoutTokens posts logout tokens that must be refused to the
// back-channel route: 400, the user's session untouched, and neither the
// token nor anything personal in the answer or the logs.
func TestHostileLogoutTokens(t *testing.T) {
	s := newStack(t, withBackchannel)
	s.login()
	sid := s.sid()
	edit := func(f func(c map[string]any)) string { return s.op.LogoutToken("app", "alice", sid, f) }
	stray, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token func() string
	}{
		{"alg none", func() string { return s.op.Forge(s.logoutClaims(sid), devprovider.ForgeNone) }},
		{"HS256 with the public key", func() string { return s.op.Forge(s.logoutClaims(sid), devprovider.ForgeHS256PublicKey) }},
		{"unknown kid", func() string { return s.op.Forge(s.logoutClaims(sid), devprovider.ForgeUnknownKey) }},
		{"unpublished key under the provider's kid", func() string {
			kid, _ := jwtHeader(t, edit(nil))["kid"].(string)
			return signWithKid(t, stray, kid, s.logoutClaims(sid))
		}},
		{"signature of other claims", func() string {
			good := strings.Split(edit(nil), ".")
			other := strings.Split(edit(func(c map[string]any) { c["sub"] = "mallory" }), ".")
			return good[0] + "." + other[1] + "." + good[2]
		}},
		{"wrong issuer", func() string { return edit(func(c map[string]any) { c["iss"] = "https://evil.example" }) }},
		{"wrong audience", func() string { return edit(func(c map[string]any) { c["aud"] = "other-app" }) }},
		{"audience array of another client", func() string { return edit(func(c map[string]any) { c["aud"] = []string{"other-app"} }) }},
		{"expired", func() string {
			return edit(func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-10*time.Minute).Unix(), time.Now().Add(-5*time.Minute).Unix()
			})
		}},
		{"iat in the future", func() string {
			return edit(func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(time.Hour).Unix(), time.Now().Add(2*time.Hour).Unix()
			})
		}},
		{"nonce present", func() string { return edit(func(c map[string]any) { c["nonce"] = "n" }) }},
		{"nonce present, no exp", func() string { return edit(func(c map[string]any) { c["nonce"] = "n"; delete(c, "exp") }) }},
		{"no event", func() string { return edit(func(c map[string]any) { delete(c, "events") }) }},
		{"no event, no exp", func() string { return edit(func(c map[string]any) { delete(c, "events"); delete(c, "exp") }) }},
		{"neither sid nor sub, no exp", func() string {
			return s.op.LogoutToken("app", "", "", func(c map[string]any) { delete(c, "exp") })
		}},
		{"another event only", func() string {
			return edit(func(c map[string]any) {
				c["events"] = map[string]any{"http://example.com/other-event": map[string]any{}}
			})
		}},
		{"neither sid nor sub", func() string { return s.op.LogoutToken("app", "", "", nil) }},
		{"an ID token", func() string { return s.op.SignIDToken(s.op.IDTokenClaims("app", "alice")) }},
		{"too long", func() string {
			return edit(func(c map[string]any) { c["pad"] = strings.Repeat("x", 40<<10) })
		}},
		{"replayed jti", func() string {
			token := edit(func(c map[string]any) { c["sub"], c["sid"] = "bob", "bob-session" })
			if r := s.postLogoutToken(token); r.StatusCode != http.StatusOK {
				t.Fatalf("first delivery: %d", r.StatusCode)
			}
			return token
		}},
	}
	for _, tc := range cases {
		t.Run("logout token: "+tc.name, func(t *testing.T) {
			token := tc.token()
			s.noteSecret(token)
			resp := s.postLogoutToken(token)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, body(resp))
			}
			if s.loggedOut() {
				t.Fatal("a refused logout token ended the session")
			}
			s.assertNoLeak(t, body(resp))
		})
	}
}

// jwtHeader decodes a JWT's header.
func jwtHeader(t *testing.T, jwt string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}
