package middleware_test

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// A whole application: one provider through discovery, the middleware
// around the application's handler, and a protected page. New checks the
// whole configuration once, at start-up: a mistake stops the application
// there rather than at a user's first login.
func ExampleNew() {
	// The keys are random bytes kept as hex or base64 text, such as the
	// output of `openssl rand -hex 32` (see session.GenerateKeyPair).
	keys, err := session.ParseKeyPair(
		"8f1c0a5e6b2d4f7a9c3e1b0d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a", // os.Getenv("SESSION_HASH_KEY")
		"3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=",                     // os.Getenv("SESSION_BLOCK_KEY")
	)
	if err != nil {
		log.Fatal(err)
	}
	cfg := middleware.Config{
		AppURL: "https://app.example.com",
		Providers: []providers.Provider{{
			Name:         "corporate",
			Issuer:       "https://login.example.com", // discovery, at the first login
			ClientID:     "app",                       // os.Getenv("OIDC_CLIENT_ID")
			ClientSecret: "secret",                    // os.Getenv("OIDC_CLIENT_SECRET")
		}},
		Keys:   []session.KeyPair{keys},
		Logger: slog.New(slog.DiscardHandler),
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		log.Fatal(err) // a bad configuration stops the application at start-up
	}

	mux := http.NewServeMux()
	mux.Handle("/account", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprintf(w, "Hello %s. <form method=post action=/auth/logout><button>Sign out</button></form>", user.Email)
	})))
	// /auth/login, /auth/callback, /auth/logout and /auth/logged-out are
	// served by the middleware itself.
	srv := &http.Server{Addr: ":8080", Handler: mw.Handler(mux)}
	_ = srv // log.Fatal(srv.ListenAndServe())

	cfg.PathPrefix = "/"
	_, err = middleware.New(cfg)
	fmt.Println(err)
	// Output:
	// middleware: PathPrefix "/" must be a clean path below the root, such as /auth
}

// Applications with their own router mount the routes themselves.
func ExampleMiddleware_LoginHandler() {
	var mw *middleware.Middleware // from middleware.New

	mux := http.NewServeMux()
	mux.Handle("GET /auth/login", mw.LoginHandler())
	mux.Handle("GET /auth/callback", mw.CallbackHandler())
	mux.Handle("/auth/logout", mw.LogoutHandler())
	mux.Handle("GET /auth/logged-out", mw.LoggedOutHandler())
}

// Reading the current user's claims in a handler.
func ExampleSessionFromContext() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		user, ok := middleware.SessionFromContext(r.Context())
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		var claims struct {
			GivenName string   `json:"given_name"`
			Groups    []string `json:"groups"`
		}
		if err := user.Claims(&claims); err != nil {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "Hello %s (%d groups)", claims.GivenName, len(claims.Groups))
	}
	_ = handler
}

// A route for the members of a group: the others get 403, and a browser
// without a session is sent to sign in.
func ExampleMiddleware_Allow() {
	keys, err := session.GenerateKeyPair()
	if err != nil {
		log.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{
		AppURL:    "http://127.0.0.1:8080",
		Providers: []providers.Provider{providers.OIDC("corporate", "https://login.example.com", "app", "secret")},
		Keys:      []session.KeyPair{keys},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	admins := mw.Allow(middleware.ClaimContains("groups", "admin"))
	app := mw.Handler(admins(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "the admin page")
	})))

	// Two users signed in, as the login callback would sign them in.
	signedIn := func(claims string) []*http.Cookie {
		rec := httptest.NewRecorder()
		err := mw.StartSession(rec, httptest.NewRequest("GET", "/", nil), session.Data{
			Provider: "corporate", Subject: "u1", ExtraClaimsJSON: claims,
		})
		if err != nil {
			log.Fatal(err)
		}
		return rec.Result().Cookies()
	}
	for name, cookies := range map[string][]*http.Cookie{
		"1 admin":      signedIn(`{"groups":["staff","admin"]}`),
		"2 staff":      signedIn(`{"groups":"staff"}`),
		"3 no session": nil,
	} {
		req := httptest.NewRequest("GET", "/admin", nil)
		req.Header.Set("Accept", "text/html")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		fmt.Println(name, rec.Code)
	}
	// Unordered output:
	// 1 admin 200
	// 2 staff 403
	// 3 no session 303
}
