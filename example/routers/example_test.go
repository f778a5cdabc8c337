package routers_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	chimiddleware "github.com/go-chi/chi/v5/middleware"
	"github.com/gorilla/mux"

	"github.com/endsession/endsession/devprovider"
	endsession "github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// With chi, the middleware goes in r.Use: chi runs it before routing, so it
// serves /auth/* itself. Import the package as endsession next to chi's
// own middleware package.
func Example_chi() {
	walk(func(mw *endsession.Middleware) http.Handler {
		r := chi.NewRouter()
		r.Use(chimiddleware.RequestID)
		r.Use(mw.Handler)
		r.With(mw.Require).Get("/account", account)
		r.Get("/", home)
		return r
	})
	// Output:
	// GET /: home, signed out
	// GET /account: account of alice
	// POST /auth/logout: home, signed out
}

// gorilla/mux runs middleware only on routes it matched: the middleware's
// routes need a PathPrefix route of their own.
func Example_gorillaMux() {
	walk(func(mw *endsession.Middleware) http.Handler {
		r := mux.NewRouter()
		r.Use(mw.Handler)
		r.PathPrefix("/auth/").Handler(mw.Routes())
		r.Handle("/account", mw.Require(http.HandlerFunc(account)))
		r.HandleFunc("/", home)
		return r
	})
	// Output:
	// GET /: home, signed out
	// GET /account: account of alice
	// POST /auth/logout: home, signed out
}

// With net/http's ServeMux, Handler wraps the whole mux.
func Example_serveMux() {
	walk(func(mw *endsession.Middleware) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /account", mw.Require(http.HandlerFunc(account)))
		mux.HandleFunc("GET /{$}", home)
		return mw.Handler(mux)
	})
	// Output:
	// GET /: home, signed out
	// GET /account: account of alice
	// POST /auth/logout: home, signed out
}

// walk serves the application that build returns, signs alice in at an
// in-process development provider, and signs her out, printing each page.
func walk(build func(mw *endsession.Middleware) http.Handler) {
	app := httptest.NewServer(nil)
	defer app.Close()
	op, err := devprovider.Start(devprovider.Config{
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{app.URL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{app.URL + "/auth/logged-out"},
		}},
		AutoLogin: "alice",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	keys, err := session.GenerateKeyPair()
	if err != nil {
		log.Fatal(err)
	}
	mw, err := endsession.New(endsession.Config{
		AppURL:    app.URL,
		Providers: []providers.Provider{providers.OIDC("dev", op.Issuer(), "app", "app-secret")},
		Keys:      []session.KeyPair{keys},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	app.Config.Handler = build(mw)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	for _, step := range []struct{ method, path string }{{"GET", "/"}, {"GET", "/account"}, {"POST", "/auth/logout"}} {
		req, _ := http.NewRequest(step.method, app.URL+step.path, strings.NewReader(""))
		req.Header.Set("Accept", "text/html")
		if step.method == "POST" {
			req.Header.Set("Origin", app.URL) // the sign-out button of the app's own page
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := browser.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %s: %s\n", step.method, step.path, body)
	}
}
