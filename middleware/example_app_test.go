package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// exampleApp is an application on a loopback port behind the middleware,
// with the development provider in the same process: what the examples
// below sign in and out of, offline.
type exampleApp struct {
	URL     string
	Browser *http.Client
	close   func()
}

// startExampleApp serves the handler that build makes from the
// middleware; edit, if not nil, changes the configuration first.
func startExampleApp(edit func(*middleware.Config), build func(*middleware.Middleware) http.Handler) *exampleApp {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	appURL := "http://" + ln.Addr().String()
	op, err := devprovider.Start(devprovider.Config{
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appURL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{appURL + "/auth/logged-out"},
		}},
		AutoLogin: "alice", // signs alice in without a login page
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	keys, err := session.GenerateKeyPair()
	if err != nil {
		log.Fatal(err)
	}
	cfg := middleware.Config{
		AppURL:    appURL,
		Providers: []providers.Provider{providers.OIDC("dev", op.Issuer(), "app", "app-secret")},
		Keys:      []session.KeyPair{keys},
		Logger:    slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&cfg)
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: build(mw)}
	go srv.Serve(ln)
	jar, _ := cookiejar.New(nil)
	return &exampleApp{URL: appURL, Browser: &http.Client{Jar: jar}, close: func() { srv.Close(); op.Close() }}
}

// get fetches path and returns the status and body of the page the
// browser ends on.
func (a *exampleApp) get(path string) (int, string) {
	resp, err := a.Browser.Get(a.URL + path)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signOut presses the sign-out button of a page of the application.
func (a *exampleApp) signOut() (int, string) {
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/auth/logout", strings.NewReader("return_to=%2F"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.URL) // as a browser sends it
	resp, err := a.Browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The middleware around an application: the routes under /auth are its
// own, every other request gets the user's session, and a protected page
// sends a visitor to sign in and back. The sign-out button ends the
// session here, then at the provider, and lands back on the home page.
func ExampleMiddleware_Handler() {
	app := startExampleApp(nil, func(mw *middleware.Middleware) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
			if user, ok := middleware.SessionFromContext(r.Context()); ok {
				fmt.Fprintf(w, "home, signed in as %s", user.Email)
				return
			}
			fmt.Fprint(w, "home, signed out")
		})
		mux.Handle("/account", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, _ := middleware.SessionFromContext(r.Context())
			fmt.Fprintf(w, "account of %s", user.Email)
		})))
		return mw.Handler(mux)
	})
	defer app.close()

	fmt.Println(app.get("/"))
	fmt.Println(app.get("/account")) // signs in at the provider, comes back
	fmt.Println(app.get("/"))
	fmt.Println(app.signOut())
	// Output:
	// 200 home, signed out
	// 200 account of alice@example.com
	// 200 home, signed in as alice@example.com
	// 200 home, signed out
}

// Require sends a browser without a session to sign in and back, and
// answers an API call (here a fetch() of a script) 401 with JSON.
func ExampleMiddleware_Require() {
	app := startExampleApp(nil, func(mw *middleware.Middleware) http.Handler {
		return mw.Handler(mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "private")
		})))
	})
	defer app.close()
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	page, _ := noRedirects.Get(app.URL + "/reports?year=2026")
	fmt.Println(page.StatusCode, page.Header.Get("Location"))

	req, _ := http.NewRequest(http.MethodGet, app.URL+"/reports", nil)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	api, _ := noRedirects.Do(req)
	var answer struct {
		Error string `json:"error"`
	}
	json.NewDecoder(api.Body).Decode(&answer)
	fmt.Println(api.StatusCode, api.Header.Get("Content-Type"), answer.Error)
	// Output:
	// 303 /auth/login?return_to=%2Freports%3Fyear%3D2026
	// 401 application/json unauthenticated
}

// An error handler of the application's own: every error the middleware
// answers itself goes through it, already logged. Show Message and
// CorrelationID; never Err, the internal cause.
func ExampleError() {
	app := startExampleApp(func(cfg *middleware.Config) {
		cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, e *middleware.Error) {
			w.WriteHeader(e.Status)
			fmt.Fprintf(w, "Sorry: %s (code %s)", e.Message, e.Code)
		}
	}, func(mw *middleware.Middleware) http.Handler { return mw.Handler(http.NotFoundHandler()) })
	defer app.close()

	// A callback with a state the middleware never issued.
	fmt.Println(app.get("/auth/callback?state=forged&code=123"))
	// Output:
	// 400 Sorry: This sign-in link is invalid, expired or already used. Please sign in again. (code invalid_state)
}

// OnLogout runs at every end of a session, whoever ends it, so that the
// application erases its own copies of the user's data: here after the
// user's sign-out.
func ExampleLogoutEvent() {
	erased := make(chan string, 1)
	app := startExampleApp(func(cfg *middleware.Config) {
		cfg.OnLogout = func(ctx context.Context, e middleware.LogoutEvent) error {
			// delete from carts where user = e.Subject ...
			erased <- fmt.Sprintf("%s: erase the data of %s", e.Reason, e.Subject)
			return nil
		}
	}, func(mw *middleware.Middleware) http.Handler {
		return mw.Handler(mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	})
	defer app.close()

	app.get("/cart")
	app.signOut()
	fmt.Println(<-erased)
	// Output:
	// user: erase the data of alice
}

// StartSession signs in a user the application authenticated itself (a
// device flow, say): the response sets the session cookie, and the next
// request has the session.
func ExampleMiddleware_StartSession() {
	app := startExampleApp(nil, func(mw *middleware.Middleware) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /device/done", func(w http.ResponseWriter, r *http.Request) {
			err := mw.StartSession(w, r, session.Data{Provider: "dev", Subject: "tv-42", Name: "Living room TV"})
			if err != nil {
				http.Error(w, "could not sign in", http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, "signed in")
		})
		mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
			user, ok := middleware.SessionFromContext(r.Context())
			fmt.Fprint(w, ok, " ", user.Subject, " ", user.Name)
		})
		return mw.Handler(mux)
	})
	defer app.close()

	resp, err := app.Browser.PostForm(app.URL+"/device/done", url.Values{})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(app.get("/whoami"))
	// Output:
	// 200 true tv-42 Living room TV
}
