package middleware_test

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// A whole application: one provider through discovery, the middleware
// around the application's handler, and a protected page.
func ExampleNew() {
	// The keys are random bytes kept as hex or base64 text, such as the
	// output of `openssl rand -hex 32` (see session.GenerateKeyPair).
	keys, err := session.ParseKeyPair(os.Getenv("SESSION_HASH_KEY"), os.Getenv("SESSION_BLOCK_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{
		AppURL: "https://app.example.com",
		Providers: []providers.Provider{{
			Name:         "corporate",
			Issuer:       "https://login.example.com",
			ClientID:     os.Getenv("OIDC_CLIENT_ID"),
			ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		}},
		Keys: []session.KeyPair{keys},
	})
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
	log.Fatal(http.ListenAndServe(":8080", mw.Handler(mux)))
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
