package middleware_test

import (
	"fmt"
	"log"
	"net/http"
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
