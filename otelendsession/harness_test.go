package otelendsession_test

import (
	"bytes"
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

	"go.opentelemetry.io/otel/trace"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

var testKeys = []session.KeyPair{{
	HashKey:  bytes.Repeat([]byte{7}, 32),
	BlockKey: bytes.Repeat([]byte{9}, 32),
}}

// app is an application behind the middleware, with the development
// provider, and a browser.
type app struct {
	t       *testing.T
	op      *devprovider.Server
	url     string
	browser *http.Client
	offset  atomic.Int64 // added to the clocks; see advance

	mu sync.Mutex
	// traceparents are the traceparent headers of the provider's
	// requests, by path.
	traceparents map[string][]string
}

// newApp starts the provider and the application, whose middleware has
// observer; tracer, when not nil, gives each request a server span, as an
// otelhttp handler would. extra, when set, serves the application's other
// routes (such as /metrics).
func newApp(t *testing.T, observer middleware.Observer, tracer trace.Tracer, extra http.Handler) *app {
	t.Helper()
	a := &app{t: t, traceparents: map[string][]string{}}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.url = "http://" + appLn.Addr().String()
	now := func() time.Time { return time.Now().Add(time.Duration(a.offset.Load())) }
	a.op, err = devprovider.New(devprovider.Config{
		Issuer: "http://" + opLn.Addr().String(),
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{a.url + "/auth/callback"},
			PostLogoutRedirectURIs: []string{a.url + "/auth/logged-out"},
		}},
		AutoLogin:     "alice",
		RefreshTokens: devprovider.RefreshAlways,
		Now:           now,
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.op.Close() })
	serve(t, opLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.traceparents[r.URL.Path] = append(a.traceparents[r.URL.Path], r.Header.Get("Traceparent"))
		a.mu.Unlock()
		a.op.ServeHTTP(w, r)
	}))
	mw, err := middleware.New(middleware.Config{
		AppURL: a.url,
		Keys:   testKeys,
		Providers: []providers.Provider{{
			Name: "dev", Issuer: a.op.Issuer(), ClientID: "app", ClientSecret: "app-secret", UserInfo: true,
			Scopes: []string{"openid", "profile", "email", "offline_access"},
		}},
		Observer: observer,
		Logger:   slog.New(slog.DiscardHandler),
		Now:      now,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if extra != nil {
		mux.Handle("/metrics", extra)
	}
	mux.HandleFunc("/signed-out", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "signed out") })
	mux.Handle("/", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.SessionFromContext(r.Context())
		io.WriteString(w, "signed in as "+d.Subject)
	})))
	var h http.Handler = mw.Handler(mux)
	if tracer != nil {
		h = serverSpans(tracer, h)
	}
	serve(t, appLn, h)
	jar, _ := cookiejar.New(nil)
	a.browser = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	return a
}

// serverSpans gives each request a server span, as an otelhttp handler
// around the application does.
func serverSpans(tracer trace.Tracer, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// advance moves the clocks of the middleware and the provider forward.
func (a *app) advance(d time.Duration) { a.offset.Add(int64(d)) }

// get follows the redirects from path and returns the final page.
func (a *app) get(path string) string {
	a.t.Helper()
	resp, err := a.browser.Get(a.url + path)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// login signs alice in through the provider.
func (a *app) login() {
	a.t.Helper()
	if page := a.get("/"); page != "signed in as alice" {
		a.t.Fatalf("login: %q", page)
	}
}

// logout signs out with the sign-out button, through the provider's
// end-session endpoint and back.
func (a *app) logout() {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.url+"/auth/logout", strings.NewReader(url.Values{"return_to": {"/signed-out"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.url)
	resp, err := a.browser.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/signed-out" {
		a.t.Fatalf("logout ended at %s", resp.Request.URL)
	}
}

// postLogoutToken posts a logout token to the back-channel route.
func (a *app) postLogoutToken(token string) int {
	a.t.Helper()
	resp, err := http.PostForm(a.url+"/auth/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
