package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// app is the application under test: the real middleware, with the
// provider's confidential client, wrapping a small application, served on
// ENDSESSION_APP_ADDR (the address the provider knows). It records every
// response it sends, the sessions its protected page saw, and what the
// middleware reported.
type app struct {
	t   *testing.T
	URL string
	MW  *middleware.Middleware

	// SessionCookie is the name of the store's (first) session cookie.
	SessionCookie string
	// ClientID is the app's client at the provider.
	ClientID string

	userinfo string // the provider's userinfo endpoint, the API the app calls

	mu        sync.Mutex
	responses []response
	sessions  []session.Data            // as the protected page saw them, in order
	erased    []session.Data            // given to OnLogout for the user's logouts
	reports   []middleware.LogoutReport // of the user's logouts
	// ended are the OnLogout events of every other end of a session (the
	// provider's logouts, a refused refresh), and endedReports their
	// audit records: oidc-provider sends a back-channel logout at every
	// end-session, which must not pass for the user's logout.
	ended        []middleware.LogoutEvent
	endedReports []middleware.LogoutReport
	logs         lockedBuffer
}

// response is one response of the app, as it left the server.
type response struct {
	Method, Path, RawQuery string
	SecFetchSite           string // of the request
	Status                 int
	Header                 http.Header
}

// Cookies returns the response's Set-Cookie headers, parsed.
func (r response) Cookies() []*http.Cookie {
	var out []*http.Cookie
	for _, line := range r.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func (r response) String() string {
	target := r.Path
	if r.RawQuery != "" {
		target += "?" + r.RawQuery
	}
	return fmt.Sprintf("%s %s (Sec-Fetch-Site %q) -> %d %s", r.Method, target, r.SecFetchSite, r.Status, r.Header.Get("Location"))
}

// storageKey is the localStorage item the protected page writes: the user's
// subject.
const storageKey = "endsession-e2e-user"

// sessionCookie is the name of the default store's first session cookie;
// its chunks are sessionCookie.1, sessionCookie.2, and so on. The
// server-side store's one cookie is endsession_id.
const sessionCookie = "endsession"

// isAppCookie reports whether a cookie name belongs to the middleware (the
// session, its chunks, the login flows and the logout state), rather than
// to the provider, which shares the host 127.0.0.1.
func isAppCookie(name string) bool { return strings.HasPrefix(name, "endsession") }

// isSessionCookie reports whether a cookie name is one of the session's:
// the store's cookie, or one of its chunks.
func (a *app) isSessionCookie(name string) bool {
	return name == a.SessionCookie || strings.HasPrefix(name, a.SessionCookie+".")
}

// startApp starts the app with the provider o; each option may change the
// middleware's configuration before New.
func startApp(t *testing.T, o *op.OP, opts ...func(*middleware.Config)) *app {
	t.Helper()
	return startAppAt(t, o, peers.AppAddr(t), opts...)
}

// startAppAt is startApp on addr: AppAddr, or App2Addr for a replica.
func startAppAt(t *testing.T, o *op.OP, addr string, opts ...func(*middleware.Config)) *app {
	t.Helper()
	return startAppMounted(t, o, addr, mountOnServeMux, opts...)
}

// mountOnServeMux wraps the application's handler in the middleware, as
// an application on net/http's ServeMux does.
func mountOnServeMux(mw *middleware.Middleware, appRoutes http.Handler) http.Handler {
	return mw.Handler(appRoutes)
}

// startAppMounted is startAppAt with the middleware and the application's
// routes put together by mount, as an application's router does.
func startAppMounted(t *testing.T, o *op.OP, addr string, mount func(mw *middleware.Middleware, appRoutes http.Handler) http.Handler, opts ...func(*middleware.Config)) *app {
	t.Helper()
	a := &app{t: t, URL: "http://" + addr}
	cfg := middleware.Config{
		AppURL: a.URL,
		Providers: []providers.Provider{{
			Name:         "op",
			Issuer:       o.URL,
			ClientID:     op.ConfidentialClientID,
			ClientSecret: op.ConfidentialClientSecret,
		}},
		Keys:   []session.KeyPair{{HashKey: randomBytes(32), BlockKey: randomBytes(32)}},
		Logger: slog.New(slog.NewJSONHandler(&a.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnLogout: func(_ context.Context, e middleware.LogoutEvent) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			if e.Reason == middleware.ReasonUser {
				a.erased = append(a.erased, *e.Session)
			} else {
				a.ended = append(a.ended, e)
			}
			return nil
		},
		OnLogoutReport: func(_ context.Context, rep middleware.LogoutReport) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if rep.Reason == middleware.ReasonUser {
				a.reports = append(a.reports, rep)
			} else {
				a.endedReports = append(a.endedReports, rep)
			}
		},
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.MW = mw
	a.ClientID = cfg.Providers[0].ClientID
	a.SessionCookie = sessionCookie
	if named, ok := cfg.Store.(interface{ CookieName() string }); ok {
		a.SessionCookie = named.CookieName()
	}
	a.userinfo = o.Discovery(t).UserinfoEndpoint
	// The browser's favicon requests stay out of the middleware, so that
	// only the test's own requests use (and may refresh) the session.
	root := http.NewServeMux()
	root.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	root.Handle("/", mount(mw, a.routes()))
	peers.ServeApp(t, addr, a.record(root))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app responses:\n%s\nmiddleware log:\n%s", a.describe(), a.logs.String())
		}
	})
	return a
}

// routes is the application itself: a public home page, a protected page
// that shows the user and a sign-out button, and a public page to play with
// the origin's storage.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<p id="home">home</p><p id="notice">%s</p>`, html.EscapeString(r.URL.Query().Get(middleware.PostLogoutNoticeParam)))
	})
	mux.Handle("GET /profile", a.MW.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.SessionFromContext(r.Context())
		a.mu.Lock()
		a.sessions = append(a.sessions, d)
		a.mu.Unlock()
		// The page keeps a copy of the user in the origin's storage, as
		// applications do; Clear-Site-Data at logout is meant to remove it.
		page(w, `<p id="user">%s</p><p id="email">%s</p><p id="name">%s</p><p id="sid">%s</p>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Sign out</button></form>
<p><a id="logout-link" href="/auth/logout">Sign out</a></p>
<script>localStorage.setItem(%s, %s)</script>`,
			html.EscapeString(d.Subject), html.EscapeString(d.Email), html.EscapeString(d.Name), html.EscapeString(d.SID),
			jsString(storageKey), jsString(d.Subject))
	})))
	// A public page with content that points at the logout route, as user
	// content on a forum might: an image and a script's fetch. Once both
	// are done, #done says so.
	mux.HandleFunc("GET /board", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<p id="board">board</p><img id="pixel" src="/auth/logout" alt="">
<script>
const img = new Promise((done) => { const p = document.getElementById("pixel"); if (p.complete) done(); else { p.onload = done; p.onerror = done; } });
const call = fetch("/auth/logout", {credentials: "same-origin"}).then((r) => r.text(), () => "");
Promise.all([img, call]).then(() => { const d = document.createElement("p"); d.id = "done"; d.textContent = "done"; document.body.append(d); });
</script>`)
	})
	// An API call on the user's behalf: the provider's userinfo endpoint,
	// with the access token of the session.
	mux.Handle("GET /api", a.MW.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.SessionFromContext(r.Context())
		a.mu.Lock()
		a.sessions = append(a.sessions, d)
		a.mu.Unlock()
		tok, ok := middleware.TokenFromContext(r.Context())
		status, sub := 0, "no valid access token"
		if ok {
			status, sub = callUserinfo(r.Context(), a.userinfo, tok.AccessToken)
		}
		page(w, `<p id="api-status">%d</p><p id="api-sub">%s</p>`, status, html.EscapeString(sub))
	})))
	a.stepUpRoutes(mux)
	return mux
}

// callUserinfo calls the provider's userinfo endpoint with an access token
// and returns the status and the subject it names.
func callUserinfo(ctx context.Context, endpoint, accessToken string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var info struct {
		Sub string `json:"sub"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	return resp.StatusCode, info.Sub
}

// jsString quotes s for a script element: JSON, with <, > and & escaped.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func page(w http.ResponseWriter, format string, args ...any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>app</title></head><body>"+format+"</body></html>", args...)
}

// record keeps every response's status and headers, as they were written.
func (a *app) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &recordingWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		if rw.status == 0 {
			rw.status = http.StatusOK
			rw.header = w.Header().Clone()
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.responses = append(a.responses, response{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			SecFetchSite: r.Header.Get("Sec-Fetch-Site"),
			Status:       rw.status, Header: rw.header,
		})
	})
}

type recordingWriter struct {
	http.ResponseWriter
	status int
	header http.Header
}

func (w *recordingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		w.header = w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Responses returns the responses to method and path so far, in order.
func (a *app) Responses(method, path string) []response {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []response
	for _, r := range a.responses {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Response returns the only response to method and path, and fails the test
// if there is not exactly one.
func (a *app) Response(method, path string) response {
	a.t.Helper()
	rs := a.Responses(method, path)
	if len(rs) != 1 {
		a.t.Fatalf("%d responses to %s %s, want 1; all responses:\n%s", len(rs), method, path, a.describe())
	}
	return rs[0]
}

// ResetResponses forgets the responses recorded so far.
func (a *app) ResetResponses() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.responses = nil
}

// LastSession returns the session the protected page saw last.
func (a *app) LastSession() session.Data {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sessions) == 0 {
		a.t.Fatal("the protected page has not been shown")
	}
	return a.sessions[len(a.sessions)-1]
}

// Ended returns the OnLogout events of the ends of sessions that were not
// the user's own logout.
func (a *app) Ended() []middleware.LogoutEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]middleware.LogoutEvent(nil), a.ended...)
}

// Erased returns the sessions the middleware gave to OnLogout at the
// user's logouts.
func (a *app) Erased() []session.Data {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]session.Data(nil), a.erased...)
}

// Reports returns the audit records of the user's logouts so far.
func (a *app) Reports() []middleware.LogoutReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]middleware.LogoutReport(nil), a.reports...)
}

func (a *app) describe() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	for _, r := range a.responses {
		b.WriteString("  ")
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// WaitResponse waits until the app has answered a request to method and
// path, and returns the first such response.
func (a *app) WaitResponse(method, path string) response {
	a.t.Helper()
	deadline := time.Now().Add(browser.DefaultTimeout)
	for {
		if rs := a.Responses(method, path); len(rs) > 0 {
			return rs[0]
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("no response to %s %s within %v; all responses:\n%s", method, path, browser.DefaultTimeout, a.describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
