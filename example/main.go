// Command example is a small application protected by endsession.
//
// With no configuration it starts, on loopback, the application at
// http://127.0.0.1:8080 and the development OpenID provider next to it, so
// that login and logout work end to end, offline (sign in as alice, password
// alice):
//
//	go run ./example
//
// With OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and APP_URL in the
// environment it uses that provider through discovery instead, and listens
// on APP_URL's host and port. Register APP_URL/auth/callback as a redirect
// URI and APP_URL/auth/logged-out as a post-logout redirect URI.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	appURL := os.Getenv("APP_URL")
	provider := providers.Provider{
		Name:         "oidc",
		Issuer:       os.Getenv("OIDC_ISSUER"),
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		UserInfo:     true,
	}
	if provider.Issuer == "" {
		appURL = "http://127.0.0.1:8080"
		op, err := devprovider.Start(devprovider.Config{
			Addr: "127.0.0.1:8081",
			Clients: []devprovider.Client{{
				ID: "example", Secret: "example-secret",
				RedirectURIs:           []string{appURL + "/auth/callback"},
				PostLogoutRedirectURIs: []string{appURL + "/auth/logged-out"},
				BackchannelLogoutURI:   appURL + "/auth/backchannel-logout",
			}},
		})
		if err != nil {
			return fmt.Errorf("starting the development provider: %w", err)
		}
		defer op.Close()
		provider = providers.Provider{
			Name: "development", Issuer: op.Issuer(), ClientID: "example", ClientSecret: "example-secret", UserInfo: true,
		}
		slog.Info("development OpenID provider started", "issuer", op.Issuer(), "user", "alice", "password", "alice")
	}
	if appURL == "" {
		return fmt.Errorf("APP_URL is required with OIDC_ISSUER")
	}
	listen, err := url.Parse(appURL)
	if err != nil {
		return fmt.Errorf("APP_URL: %w", err)
	}

	handler, err := newApp(appURL, provider)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: listen.Host, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	slog.Info("example application listening", "url", appURL)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// newApp returns the application at appURL, protected by the middleware
// with provider.
func newApp(appURL string, provider providers.Provider) (http.Handler, error) {
	// Keys are random per run here, so sessions end when the example
	// stops; a real application loads them from its secrets.
	mw, err := middleware.New(middleware.Config{
		AppURL:    appURL,
		Providers: []providers.Provider{provider},
		Keys:      []session.KeyPair{{HashKey: randomKey(32), BlockKey: randomKey(32)}},
		// The home page says the user is signed out when it gets
		// signedOutParam.
		PostLogoutPath: "/?" + signedOutParam + "=1",
		OnLogout: func(_ context.Context, e middleware.LogoutEvent) error {
			// Every end of a session comes here: the user's logout, the
			// provider's (back-channel, front-channel), a refused refresh.
			slog.Info("erase the application's copies of the user's data here",
				"reason", e.Reason, "provider", e.Provider)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", home)
	mux.Handle("GET /profile", mw.Require(http.HandlerFunc(profile)))
	return mw.Handler(mux), nil
}

func randomKey(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>endsession example</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}nav form{margin:0 0 0 auto}</style></head><body>
<nav><a href="/">Home</a>{{if .Email}}<a href="/profile">Profile</a><span>{{.Email}}</span>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Sign out</button></form>{{else}}<a id="login" href="/auth/login?return_to=/profile">Sign in</a>{{end}}</nav>{{end}}
{{define "home"}}{{template "head" .}}<h1>endsession example</h1>
{{if .SignedOut}}<p id="signed-out"><strong>You are signed out.</strong> {{if eq .Notice "local-only"}}You are signed out of this site only: the provider has no logout, so you may still be signed in there.{{else if eq .Notice "provider-unreachable"}}You are signed out of this site, but the provider could not be reached: you may still be signed in there.{{else}}You are signed out of this site and of the provider.{{end}}</p>{{end}}
{{if .Email}}<p>Welcome back. Your <a href="/profile">profile</a> shows what the provider says about you.</p>
{{else}}<p>Sign in to see your profile.</p>{{end}}</body></html>{{end}}
{{define "profile"}}{{template "head" .}}<h1>Profile</h1><p id="email">{{.Email}}</p>
<h2>Claims</h2><pre>{{.Claims}}</pre></body></html>{{end}}
`))

// signedOutParam is in the query of the page users land on after a
// logout (Config.PostLogoutPath).
const signedOutParam = "signed_out"

func home(w http.ResponseWriter, r *http.Request) {
	d, _ := middleware.SessionFromContext(r.Context())
	q := r.URL.Query()
	w.Header().Set("Cache-Control", "no-store")
	pages.ExecuteTemplate(w, "home", map[string]any{
		"Email":     d.Email,
		"SignedOut": d.Email == "" && (q.Has(signedOutParam) || q.Has(middleware.PostLogoutNoticeParam)),
		"Notice":    q.Get(middleware.PostLogoutNoticeParam),
	})
}

func profile(w http.ResponseWriter, r *http.Request) {
	d, _ := middleware.SessionFromContext(r.Context())
	var claims map[string]any
	d.Claims(&claims)
	pretty, _ := json.MarshalIndent(claims, "", "  ")
	w.Header().Set("Cache-Control", "no-store")
	pages.ExecuteTemplate(w, "profile", map[string]string{"Email": d.Email, "Claims": string(pretty)})
}
