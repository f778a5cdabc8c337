package routers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"

	"github.com/endsession/endsession/devprovider"
	endsession "github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// newMiddleware returns a middleware for appURL, signing in at an
// in-process development provider that signs alice in at once.
func newMiddleware(t testing.TB, appURL string) *endsession.Middleware {
	op, err := devprovider.Start(devprovider.Config{
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appURL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{appURL + "/auth/logged-out"},
		}},
		AutoLogin: "alice",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close() })
	keys, err := session.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	mw, err := endsession.New(endsession.Config{
		AppURL:    appURL,
		Providers: []providers.Provider{providers.OIDC("dev", op.Issuer(), "app", "app-secret")},
		Keys:      []session.KeyPair{keys},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

// routerCases builds each router with the documented mounting.
var routerCases = map[string]func(mw *endsession.Middleware, account http.Handler) http.Handler{
	"net/http ServeMux": func(mw *endsession.Middleware, account http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/account", mw.Require(account))
		mux.HandleFunc("/", home)
		return mw.Handler(mux)
	},
	"chi": func(mw *endsession.Middleware, account http.Handler) http.Handler {
		r := chi.NewRouter()
		r.Use(mw.Handler) // runs before chi routes: it serves /auth/* too
		r.With(mw.Require).Handle("/account", account)
		r.Get("/", home)
		return r
	},
	"gorilla/mux": func(mw *endsession.Middleware, account http.Handler) http.Handler {
		r := mux.NewRouter()
		r.Use(mw.Handler)
		r.PathPrefix("/auth/").Handler(mw.Routes())
		r.Handle("/account", mw.Require(account))
		r.HandleFunc("/", home)
		return r
	},
}

func home(w http.ResponseWriter, r *http.Request) {
	if user, ok := endsession.SessionFromContext(r.Context()); ok {
		io.WriteString(w, "home, signed in as "+user.Subject)
		return
	}
	io.WriteString(w, "home, signed out")
}

func account(w http.ResponseWriter, r *http.Request) {
	user, _ := endsession.SessionFromContext(r.Context())
	io.WriteString(w, "account of "+user.Subject)
}

func TestEveryRouterSignsInAndOut(t *testing.T) {
	for name, build := range routerCases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(nil)
			defer srv.Close()
			mw := newMiddleware(t, srv.URL)
			srv.Config.Handler = build(mw, http.HandlerFunc(account))
			b := newBrowser(t)

			if got := b.get(t, srv.URL+"/"); got != "home, signed out" {
				t.Fatalf("home before login: %q", got)
			}
			// /account sends the browser to sign in, and back.
			if got := b.get(t, srv.URL+"/account"); got != "account of alice" {
				t.Fatalf("account after login: %q", got)
			}
			// The sign-out button, then the provider, then the landing.
			if got := b.post(t, srv.URL+"/auth/logout", srv.URL); !strings.HasPrefix(got, "home, signed out") {
				t.Fatalf("after logout: %q", got)
			}
			if got := b.get(t, srv.URL+"/"); got != "home, signed out" {
				t.Fatalf("home after logout: %q", got)
			}
		})
	}
}

// TestMuxUseAloneMissesTheRoutes shows why gorilla/mux needs the
// PathPrefix route: mux runs middleware only on routes it matched.
func TestMuxUseAloneMissesTheRoutes(t *testing.T) {
	mw := newMiddleware(t, "http://127.0.0.1:1")
	r := mux.NewRouter()
	r.Use(mw.Handler)
	r.HandleFunc("/", home)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/auth/login", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("mux with Use alone answered /auth/login with %d; the docs say it is 404", rec.Code)
	}
}

// browser follows redirects with a cookie jar, as a browser does.
type browser struct{ c *http.Client }

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{&http.Client{Jar: jar}}
}

func (b *browser) get(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/html")
	return b.do(t, req)
}

// post submits a form of the page at origin, as the sign-out button does.
func (b *browser) post(t *testing.T, url, origin string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	req.Header.Set("Accept", "text/html")
	return b.do(t, req)
}

func (b *browser) do(t *testing.T, req *http.Request) string {
	t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s ended at %s with %d: %s", req.Method, req.URL, resp.Request.URL, resp.StatusCode, body)
	}
	return string(body)
}
