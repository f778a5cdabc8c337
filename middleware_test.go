package endsession_test

// End-to-end tests of the whole stack over real HTTP: an application
// wrapped by the middleware, the development OpenID provider, and a client
// with a cookie jar that follows redirects one at a time.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

var testKeys = []session.KeyPair{{
	HashKey:  bytes.Repeat([]byte{7}, 32),
	BlockKey: bytes.Repeat([]byte{9}, 32),
}}

// stack is one application and its provider.
type stack struct {
	t       *testing.T
	op      *devprovider.Server
	app     *httptest.Server
	appURL  string
	mw      *middleware.Middleware
	client  *http.Client
	logs    *bytes.Buffer
	mu      sync.Mutex
	reports []middleware.LogoutReport
	erased  []string
	events  []middleware.LogoutEvent

	// mwCfg is the middleware's configuration, for restart.
	mwCfg   middleware.Config
	handler atomic.Pointer[http.Handler]
	// offset is added to the middleware's clock; see advance.
	offset atomic.Int64
	// tokenHook, when set, rewrites the token endpoint's answers.
	tokenHook func(body, claims map[string]any)
	// answers, when set for an endpoint, answer its requests in place of
	// the provider.
	answers map[devprovider.Endpoint]http.HandlerFunc
	// secrets are every token, code and cookie value seen on the wire.
	secrets []string
	// pages are the bodies of every response the browser got.
	pages []string
	// authorizeURL is the last authorization request callbackURL made.
	authorizeURL string
	// redeemedBefore, when set by a test, is the count of token requests
	// before its hostile request.
	redeemedBefore int
}

type stackOption func(*devprovider.Config, *middleware.Config)

// withOP changes the provider's configuration.
func withOP(f func(*devprovider.Config)) stackOption {
	return func(op *devprovider.Config, _ *middleware.Config) {
		if op != nil {
			f(op)
		}
	}
}

// withMW changes the middleware's configuration.
func withMW(f func(*middleware.Config)) stackOption {
	return func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			f(mw)
		}
	}
}

func newStack(t *testing.T, opts ...stackOption) *stack {
	t.Helper()
	s := &stack{t: t, logs: new(bytes.Buffer)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.appURL = "http://" + ln.Addr().String()
	opCfg := devprovider.Config{
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{s.appURL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{s.appURL + "/auth/logged-out"},
		}},
		AutoLogin:     "alice",
		RefreshTokens: devprovider.RefreshAlways,
	}
	mwCfg := middleware.Config{
		AppURL: s.appURL,
		Keys:   testKeys,
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: s.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnLogout: func(_ context.Context, e middleware.LogoutEvent) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.erased = append(s.erased, e.Subject)
			s.events = append(s.events, e)
			return nil
		},
		OnLogoutReport: func(_ context.Context, rep middleware.LogoutReport) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.reports = append(s.reports, rep)
		},
	}
	mwCfg.Now = func() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }
	opCfg.Now = mwCfg.Now
	for _, o := range opts {
		o(&opCfg, nil)
	}
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opCfg.Issuer = "http://" + opLn.Addr().String()
	s.op, err = devprovider.New(opCfg)
	if err != nil {
		t.Fatal(err)
	}
	opServer := httptest.NewUnstartedServer(http.HandlerFunc(s.serveProvider))
	opServer.Listener.Close()
	opServer.Listener = opLn
	opServer.Start()
	t.Cleanup(opServer.Close)
	t.Cleanup(func() { s.op.Close() })
	mwCfg.Providers = []providers.Provider{{
		Name: "dev", Issuer: s.op.Issuer(), ClientID: "app", ClientSecret: "app-secret", UserInfo: true,
		Scopes: []string{"openid", "profile", "email", "offline_access"},
	}}
	for _, o := range opts {
		o(nil, &mwCfg)
	}
	s.mwCfg = mwCfg
	s.restart(nil)
	s.app = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*s.handler.Load()).ServeHTTP(w, r)
	}))
	s.app.Listener.Close()
	s.app.Listener = ln
	s.app.Start()
	t.Cleanup(s.app.Close)
	s.client = newBrowser(t)
	s.client.Transport = &recordingTransport{s: s, next: http.DefaultTransport}
	return s
}

// restart replaces the middleware with a new one, as after a restart of
// the application, with the configuration changed by edit (if not nil).
func (s *stack) restart(edit func(*middleware.Config)) {
	s.t.Helper()
	if edit != nil {
		edit(&s.mwCfg)
	}
	mw, err := middleware.New(s.mwCfg)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mw = mw
	h := mw.Handler(appRoutes(mw))
	s.handler.Store(&h)
}

// advance moves the clock of the middleware and the provider forward by d.
func (s *stack) advance(d time.Duration) { s.offset.Add(int64(d)) }

// now is the clock of the middleware and of the provider.
func (s *stack) now() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }

// serveProvider serves the development provider, noting every code and
// token it hands out and letting tokenHook rewrite the token endpoint's
// answers.
func (s *stack) serveProvider(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	answer := s.answers[devprovider.Endpoint(r.URL.Path)]
	s.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.op.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if loc, err := url.Parse(rec.Header().Get("Location")); err == nil {
		s.noteSecret(loc.Query().Get("code"))
	}
	if r.URL.Path == string(devprovider.Token) && rec.Code == http.StatusOK {
		var body map[string]any
		if json.Unmarshal(out, &body) == nil {
			s.mu.Lock()
			hook := s.tokenHook
			s.mu.Unlock()
			if raw, ok := body["id_token"].(string); ok {
				claims := jwtClaims(s.t, raw)
				for _, k := range []string{"sid", "nonce"} {
					if v, ok := claims[k].(string); ok {
						s.noteSecret(v)
					}
				}
				if hook != nil {
					hook(body, claims)
				}
			}
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				if v, ok := body[k].(string); ok {
					s.noteSecret(v)
				}
			}
			out, _ = json.Marshal(body)
			rec.Header().Del("Content-Length")
		}
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(out)
}

// setAnswer makes h answer the requests to endpoint in place of the
// provider.
func (s *stack) setAnswer(endpoint devprovider.Endpoint, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answers == nil {
		s.answers = map[devprovider.Endpoint]http.HandlerFunc{}
	}
	s.answers[endpoint] = h
}

// setTokenHook makes the token endpoint's answers go through hook, which
// may edit the JSON body and the ID token's claims (and sign them again).
func (s *stack) setTokenHook(hook func(body, claims map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenHook = hook
}

func (s *stack) noteSecret(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = append(s.secrets, v)
}

// recordingTransport notes every cookie value and page body the browser
// sees.
type recordingTransport struct {
	s    *stack
	next http.RoundTripper
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for _, c := range req.Cookies() {
		t.s.noteSecret(c.Value)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	for _, c := range resp.Cookies() {
		t.s.noteSecret(c.Value)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	t.s.mu.Lock()
	t.s.pages = append(t.s.pages, string(b))
	t.s.mu.Unlock()
	return resp, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// appRoutes is the application under test: a public home, a protected
// profile that shows the user's email, and the session's sid (for
// front-channel logout) and access token expiry.
func appRoutes(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "home notice=%s", r.URL.Query().Get(middleware.PostLogoutNoticeParam))
	})
	mux.Handle("/profile", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.SessionFromContext(r.Context())
		var c struct {
			GivenName string `json:"given_name"`
		}
		d.Claims(&c)
		fmt.Fprintf(w, "email=%s given_name=%s provider=%s", d.Email, c.GivenName, d.Provider)
	})))
	mux.Handle("/sid", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprint(w, d.SID)
	})))
	mux.Handle("/expire", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := mw.Expire(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "expired")
	})))
	mux.Handle("/token", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := middleware.TokenFromContext(r.Context())
		if !ok {
			fmt.Fprint(w, "no token")
			return
		}
		fmt.Fprint(w, tok.Expiry.Unix())
	})))
	return mux
}

// newBrowser is a client with a cookie jar that does not follow redirects.
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (s *stack) do(req *http.Request) *http.Response {
	s.t.Helper()
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func (s *stack) get(rawURL string, header ...string) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.abs(rawURL), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return s.do(req)
}

func (s *stack) abs(rawURL string) string {
	if strings.HasPrefix(rawURL, "/") {
		return s.appURL + rawURL
	}
	return rawURL
}

// follow follows redirects from resp, with GETs, and returns the final
// response and every URL visited.
func (s *stack) follow(resp *http.Response) (*http.Response, []string) {
	s.t.Helper()
	var visited []string
	for i := 0; i < 10 && resp.StatusCode >= 300 && resp.StatusCode < 400; i++ {
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			s.t.Fatal(err)
		}
		visited = append(visited, next.String())
		resp = s.get(next.String())
	}
	return resp, visited
}

func body(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// login signs alice in and returns the profile page.
func (s *stack) login() *http.Response {
	s.t.Helper()
	resp, _ := s.follow(s.get("/profile"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "email=alice@example.com") {
		s.t.Fatalf("login: %d %q", resp.StatusCode, body(resp))
	}
	return resp
}

func (s *stack) postLogout(origin string) *http.Response {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.appURL+"/auth/logout", strings.NewReader("return_to=%2F"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return s.do(req)
}

func (s *stack) sessionCookies() []*http.Cookie {
	u, _ := url.Parse(s.appURL)
	var out []*http.Cookie
	for _, c := range s.client.Jar.Cookies(u) {
		if c.Name == "endsession" || strings.HasPrefix(c.Name, "endsession.") {
			out = append(out, c)
		}
	}
	return out
}

func TestLoginThenAuthenticatedRequest(t *testing.T) {
	s := newStack(t)
	resp, visited := s.follow(s.get("/profile"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("profile after login: %d %s", resp.StatusCode, body(resp))
	}
	if got := body(resp); got != "email=alice@example.com given_name=Alice provider=dev" {
		t.Fatalf("profile = %q", got)
	}
	authorize, _ := url.Parse(visited[1])
	q := authorize.Query()
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if q.Get(p) == "" {
			t.Errorf("authorize request lacks %s: %s", p, authorize)
		}
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != s.appURL+"/auth/callback" {
		t.Errorf("authorize request = %s", authorize)
	}
	if visited[len(visited)-1] != s.appURL+"/profile" {
		t.Errorf("login did not come back to /profile: %v", visited)
	}
	if len(s.sessionCookies()) == 0 {
		t.Fatal("no session cookie after login")
	}
	// A second request is authenticated by the cookie alone.
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
		t.Fatalf("second request: %d", resp.StatusCode)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	s := newStack(t)
	r := s.get("/auth/login")
	r = s.get(r.Header.Get("Location"))
	cb := s.get(r.Header.Get("Location"))
	if cb.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", cb.StatusCode, body(cb))
	}
	var found bool
	for _, line := range cb.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "endsession=") {
			found = true
			for _, attr := range []string{"Path=/", "HttpOnly", "SameSite=Lax", "Max-Age="} {
				if !strings.Contains(line, attr) {
					t.Errorf("session cookie lacks %s: %s", attr, line)
				}
			}
			if strings.Contains(line, "Secure") {
				t.Errorf("session cookie on http is Secure: %s", line)
			}
		}
	}
	if !found {
		t.Fatal("callback set no session cookie")
	}
	for _, h := range []string{"Cache-Control", "Referrer-Policy", "X-Content-Type-Options"} {
		if cb.Header.Get(h) == "" {
			t.Errorf("callback lacks %s", h)
		}
	}
	if cb.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", cb.Header.Get("Cache-Control"))
	}
}

func TestProtectedRouteAnswersJSONWith401(t *testing.T) {
	s := newStack(t)
	resp := s.get("/profile", "Accept", "application/json")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body(resp), `"unauthenticated"`) {
		t.Fatalf("JSON request without a session: %d %s", resp.StatusCode, body(resp))
	}
	resp = s.get("/profile")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/auth/login?return_to=%2Fprofile" {
		t.Fatalf("browser request without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// logoutRedirect logs out and checks the logout response itself: every
// session cookie expired, and a redirect to the provider with exactly the
// expected parameters. It returns the end-session URL.
func (s *stack) logoutRedirect() *url.URL {
	s.t.Helper()
	before := s.sessionCookies()
	if len(before) == 0 {
		s.t.Fatal("no session before logout")
	}
	resp := s.postLogout(s.appURL)
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("logout: %d %s", resp.StatusCode, body(resp))
	}
	expired := map[string]bool{}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			expired[c.Name] = true
		}
	}
	for _, c := range before {
		if !expired[c.Name] {
			s.t.Errorf("the logout response did not expire cookie %s", c.Name)
		}
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		s.t.Errorf("logout Cache-Control = %q", got)
	}
	if len(s.sessionCookies()) != 0 {
		s.t.Fatal("the browser still holds a session cookie after the logout response")
	}
	end, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		s.t.Fatal(err)
	}
	if end.Scheme+"://"+end.Host+end.Path != s.op.Issuer()+"/end_session" {
		s.t.Fatalf("logout went to %s", end)
	}
	q := end.Query()
	if len(q) != 3 || q.Get("id_token_hint") == "" || q.Get("state") == "" ||
		q.Get("post_logout_redirect_uri") != s.appURL+"/auth/logged-out" {
		s.t.Fatalf("end-session parameters = %v; want exactly id_token_hint, post_logout_redirect_uri, state", q)
	}
	return end
}

func TestLogout(t *testing.T) {
	s := newStack(t)
	s.login()
	end := s.logoutRedirect()
	resp, visited := s.follow(s.get(end.String()))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body(resp), "home") {
		t.Fatalf("after logout: %d %q (visited %v)", resp.StatusCode, body(resp), visited)
	}
	landing, _ := url.Parse(visited[0])
	if landing.Path != "/auth/logged-out" || landing.Query().Get("state") != end.Query().Get("state") {
		t.Fatalf("the provider came back to %s", landing)
	}
	if s.erased == nil || s.erased[0] != "alice" {
		t.Errorf("OnLogout erased %v, want alice", s.erased)
	}
	if resp := s.get("/profile"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("profile after logout: %d, want a redirect to login", resp.StatusCode)
	}
	rep := s.reports[0]
	var names []string
	for _, st := range rep.Steps {
		names = append(names, st.Name)
		if !st.OK {
			t.Errorf("logout step %s failed: %s", st.Name, st.Detail)
		}
	}
	if got := strings.Join(names, ","); got != "session.read,session.delete,app.erase,provider.revoke,provider.end_session" {
		t.Errorf("logout steps = %s", got)
	}
	// The provider ended its session: its session cookie is gone.
	opURL, _ := url.Parse(s.op.Issuer())
	for _, c := range s.client.Jar.Cookies(opURL) {
		if c.Name == s.op.SessionCookieName() {
			t.Errorf("the provider's session cookie survived logout")
		}
	}
}

func TestLogoutStateIsChecked(t *testing.T) {
	cases := []struct {
		name  string
		query func(sent string) string
	}{
		{"wrong state", func(string) string { return "?state=forged" }},
		{"state missing", func(string) string { return "" }},
		{"state twice", func(sent string) string { return "?state=" + sent + "&state=x" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			s.login()
			end := s.logoutRedirect()
			resp := s.get("/auth/logged-out" + tc.query(end.Query().Get("state")))
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("landing with %s: %d, Location %q", tc.name, resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(body(resp), "could not be verified") {
				t.Errorf("landing page = %q", body(resp))
			}
		})
	}
	t.Run("state without a logout", func(t *testing.T) {
		s := newStack(t)
		if resp := s.get("/auth/logged-out?state=abc"); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("landing with an unexpected state: %d", resp.StatusCode)
		}
	})
}

func TestLandingToleratesStateAppendedWithoutQuery(t *testing.T) {
	s := newStack(t)
	s.login()
	end := s.logoutRedirect()
	resp := s.get("/auth/logged-out&state=" + end.Query().Get("state"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("landing with &state: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	s = newStack(t)
	s.login()
	s.logoutRedirect()
	if resp := s.get("/auth/logged-out&state=forged"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("landing with a forged &state: %d", resp.StatusCode)
	}
}

func TestLogoutWithoutSession(t *testing.T) {
	s := newStack(t)
	resp := s.postLogout(s.appURL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/auth/logged-out" {
		t.Fatalf("logout without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	final, _ := s.follow(resp)
	if final.StatusCode != http.StatusOK || !strings.HasPrefix(body(final), "home") {
		t.Fatalf("landed on %d %q", final.StatusCode, body(final))
	}
	if len(s.op.Requests()) != 0 {
		t.Errorf("the provider was called for a logout without a session")
	}
}

// Without a refresh token, the expired ID token itself is the hint.
func TestLogoutAfterIDTokenExpired(t *testing.T) {
	s := newStack(t, withOP(func(op *devprovider.Config) {
		op.IDTokenTTL = time.Minute
		op.RefreshTokens = devprovider.RefreshNever
	}))
	s.login()
	s.advance(time.Minute + time.Second)
	end := s.logoutRedirect()
	hint := end.Query().Get("id_token_hint")
	if exp := jwtClaim(t, hint, "exp").(float64); time.Unix(int64(exp), 0).After(s.now()) {
		t.Fatal("the ID token sent as hint has not expired yet")
	}
	resp, visited := s.follow(s.get(end.String()))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(visited[0], s.appURL+"/auth/logged-out?state=") {
		t.Fatalf("the provider did not accept the expired hint: %d %v", resp.StatusCode, visited)
	}
}

func jwtClaim(t *testing.T, jwt, name string) any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	json.Unmarshal(payload, &claims)
	return claims[name]
}

// jwtClaims decodes a JWT's claims without checking anything.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestLargeIDToken(t *testing.T) {
	s := newStack(t)
	s.op.SetUserClaims("alice", map[string]any{
		"email": "alice@example.com", "given_name": "Alice",
		"profile_blob": strings.Repeat("x", 6<<10),
	})
	s.login()
	if n := len(s.sessionCookies()); n < 3 {
		t.Fatalf("a 6 KB ID token fits in %d cookie(s); want it chunked", n)
	}
	end := s.logoutRedirect()
	if hint := end.Query().Get("id_token_hint"); len(hint) < 6<<10 {
		t.Fatalf("id_token_hint is %d bytes, want the stored 6 KB token", len(hint))
	}
	if resp, _ := s.follow(s.get(end.String())); resp.StatusCode != http.StatusOK {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}
}

func TestTamperedCookieIsNoSession(t *testing.T) {
	s := newStack(t)
	s.login()
	u, _ := url.Parse(s.appURL)
	cookies := s.client.Jar.Cookies(u)
	for _, c := range cookies {
		if c.Name == "endsession" {
			b := []byte(c.Value)
			b[len(b)/2] ^= 0x01
			c.Value = string(b)
			s.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
		}
	}
	resp := s.get("/profile")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("tampered cookie: %d, want a redirect to login", resp.StatusCode)
	}
	if !strings.Contains(s.logs.String(), `"code":"invalid_cookie"`) {
		t.Error("the rejected cookie was not logged")
	}
}

// callbackURL runs a login up to the provider's redirect back to the app
// and returns that callback URL without following it.
func (s *stack) callbackURL() *url.URL {
	s.t.Helper()
	r := s.get("/auth/login?return_to=/profile")
	s.authorizeURL = r.Header.Get("Location")
	r = s.get(s.authorizeURL)
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil || u.Path != "/auth/callback" {
		s.t.Fatalf("provider redirected to %q", r.Header.Get("Location"))
	}
	return u
}

func TestReplayedStateIsRefused(t *testing.T) {
	s := newStack(t)
	cb := s.callbackURL()
	u, _ := url.Parse(s.appURL)
	var flowCookies []*http.Cookie
	for _, c := range s.client.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "endsession_flow_") {
			flowCookies = append(flowCookies, c)
		}
	}
	if resp := s.get(cb.String()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback: %d %s", resp.StatusCode, body(resp))
	}
	// The same state again, even with its flow cookie put back, is refused.
	for _, c := range flowCookies {
		s.client.Jar.SetCookies(&url.URL{Scheme: "http", Host: u.Host, Path: "/auth/"}, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/auth"}})
	}
	resp := s.get(cb.String())
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body(resp), "invalid, expired or already used") {
		t.Fatalf("replayed callback: %d %s", resp.StatusCode, body(resp))
	}
}

func TestForgedIssIsRefused(t *testing.T) {
	s := newStack(t)
	cb := s.callbackURL()
	q := cb.Query()
	q.Set("iss", "https://evil.example")
	cb.RawQuery = q.Encode()
	resp := s.get(cb.String())
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged iss: %d %s", resp.StatusCode, body(resp))
	}
	if len(s.sessionCookies()) != 0 {
		t.Fatal("a session was created despite a forged iss")
	}
	for _, r := range s.op.Requests() {
		if strings.HasSuffix(r.Path, "/token") {
			t.Fatal("the code was redeemed despite a forged iss")
		}
	}
}

func TestProviderErrorOnCallback(t *testing.T) {
	s := newStack(t)
	cb := s.callbackURL()
	q := url.Values{"state": {cb.Query().Get("state")}, "iss": {s.op.Issuer()},
		"error": {"<script>alert(1)</script>"}, "error_description": {"<b>boom</b>"}}
	resp := s.get("/auth/callback?" + q.Encode())
	page := body(resp)
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(page, "<script>") || strings.Contains(page, "boom") {
		t.Fatalf("provider error: %d %q", resp.StatusCode, page)
	}
}

func TestCrossSiteLogoutIsRefused(t *testing.T) {
	s := newStack(t)
	s.login()
	if resp := s.postLogout("https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST logout: %d", resp.StatusCode)
	}
	if resp := s.postLogout(""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST logout without Origin: %d", resp.StatusCode)
	}
	resp := s.get("/auth/logout", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), `<form method="post" action="/auth/logout">`) {
		t.Fatalf("cross-site GET logout: %d %s", resp.StatusCode, body(resp))
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			t.Fatalf("the confirmation page expired cookie %s", c.Name)
		}
	}
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after refused logouts the session is gone: %d", resp.StatusCode)
	}
	// A prefetch of the link, even same-origin, does not log out.
	resp = s.get("/auth/logout", "Sec-Fetch-Site", "same-origin", "Sec-Purpose", "prefetch;prerender")
	if resp.StatusCode != http.StatusOK || len(s.sessionCookies()) == 0 {
		t.Fatalf("prefetched logout link: %d", resp.StatusCode)
	}
	// A same-origin GET link logs out.
	resp = s.get("/auth/logout", "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), s.op.Issuer()) {
		t.Fatalf("same-origin GET logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSeveralTabsLogInAtOnce(t *testing.T) {
	s := newStack(t)
	first := s.callbackURL()
	second := s.callbackURL()
	if resp := s.get(second.String()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second tab: %d %s", resp.StatusCode, body(resp))
	}
	if resp := s.get(first.String()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first tab, completed last: %d %s", resp.StatusCode, body(resp))
	}
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
		t.Fatalf("profile: %d", resp.StatusCode)
	}
}

func TestLoginFlowsAreCapped(t *testing.T) {
	s := newStack(t)
	var urls []*url.URL
	for range 7 {
		urls = append(urls, s.callbackURL())
	}
	u, _ := url.Parse(s.appURL + "/auth/")
	n := 0
	for _, c := range s.client.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "endsession_flow_") {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("%d login flows kept, want the cap of 5", n)
	}
	if resp := s.get(urls[0].String()); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the oldest flow was not dropped: %d", resp.StatusCode)
	}
	if resp := s.get(urls[6].String()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the newest flow failed: %d %s", resp.StatusCode, body(resp))
	}
}

func TestProviderWithoutEndSessionLogsOutLocally(t *testing.T) {
	s := newStack(t, func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			issuer := mw.Providers[0].Issuer
			mw.Providers[0].Endpoints = providers.Endpoints{
				AuthURL: issuer + "/authorize", TokenURL: issuer + "/token", JWKSURL: issuer + "/jwks",
			}
		}
	})
	s.login()
	resp := s.postLogout(s.appURL)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/auth/logged-out" {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	final, _ := s.follow(resp)
	if got := body(final); got != "home notice=local-only" {
		t.Fatalf("landed on %q", got)
	}
	if !strings.Contains(s.logs.String(), "no end_session_endpoint") {
		t.Error("no warning logged for the local-only logout")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	good := middleware.Config{
		AppURL: "https://app.example", Keys: testKeys,
		Providers: []providers.Provider{{Name: "p", Issuer: "https://op.example", ClientID: "c", ClientSecret: "s"}},
	}
	if _, err := middleware.New(good); err != nil {
		t.Fatalf("a good config: %v", err)
	}
	cases := map[string]func(*middleware.Config){
		"no AppURL":          func(c *middleware.Config) { c.AppURL = "" },
		"AppURL with a path": func(c *middleware.Config) { c.AppURL = "https://app.example/x" },
		"AppURL not http":    func(c *middleware.Config) { c.AppURL = "ftp://app.example" },
		"no providers":       func(c *middleware.Config) { c.Providers = nil },
		"no keys":            func(c *middleware.Config) { c.Keys = nil },
		"short hash key": func(c *middleware.Config) {
			c.Keys = []session.KeyPair{{HashKey: []byte("x"), BlockKey: testKeys[0].BlockKey}}
		},
		"bad issuer":   func(c *middleware.Config) { c.Providers[0].Issuer = "op.example" },
		"no client id": func(c *middleware.Config) { c.Providers[0].ClientID = "" },
		"post without secret": func(c *middleware.Config) {
			c.Providers[0].ClientSecret = ""
			c.Providers[0].AuthMethod = providers.AuthPost
		},
		"remote post-logout": func(c *middleware.Config) { c.PostLogoutPath = "https://evil.example" },
		"explicit without jwks": func(c *middleware.Config) {
			c.Providers[0].Endpoints = providers.Endpoints{AuthURL: "https://a", TokenURL: "https://t"}
		},
	}
	for name, mutate := range cases {
		cfg := good
		cfg.Providers = append([]providers.Provider(nil), good.Providers...)
		mutate(&cfg)
		if _, err := middleware.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	s := newStack(t)
	s.login()
	end := s.logoutRedirect()
	s.follow(s.get(end.String()))
	logs := s.logs.String()
	hint := end.Query().Get("id_token_hint")
	for _, secret := range []string{hint, hint[:40], "alice@example.com", "app-secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret[:min(len(secret), 20)])
		}
	}
	if !strings.Contains(logs, `"event":"logout"`) || !strings.Contains(logs, `"event":"login"`) {
		t.Errorf("login and logout events missing from the logs")
	}
}
