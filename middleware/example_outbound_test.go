package middleware_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// apiAnswer is what the provider's userinfo endpoint, the API of the
// examples below, answers a call with the user's access token.
func apiAnswer(resp *http.Response, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	var user struct {
		Email string `json:"email"`
	}
	json.NewDecoder(resp.Body).Decode(&user)
	return fmt.Sprint(resp.StatusCode, " ", user.Email)
}

// A handler calls an API on the user's behalf with the session's access
// token, refreshed by the middleware when it is about to expire. A client
// kept for later (a background job) fails once the user signed out, and
// sends nothing.
func ExampleMiddleware_Client() {
	var api string // the provider's userinfo endpoint, an API that takes the user's access token
	later := make(chan *http.Client, 1)
	app := startExampleApp(func(cfg *middleware.Config) {
		api = cfg.Providers[0].Issuer + "/userinfo"
	}, func(mw *middleware.Middleware) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })
		mux.Handle("/report", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			client := mw.Client(r)
			fmt.Fprint(w, apiAnswer(client.Get(api)))
			later <- client
		})))
		return mw.Handler(mux)
	})
	defer app.close()

	fmt.Println(app.get("/report"))
	app.signOut()
	_, err := (<-later).Get(api)
	fmt.Println("after sign-out:", errors.Is(err, middleware.ErrSessionEnded))
	// Output:
	// 200 200 alice@example.com
	// after sign-out: true
}

// A goroutine that outlives its handler takes the user's token from the
// source as it goes: each Token is refreshed if needed, and fails once the
// session ended.
func ExampleMiddleware_TokenSource() {
	done := make(chan string, 1)
	app := startExampleApp(nil, func(mw *middleware.Middleware) http.Handler {
		return mw.Handler(mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			source := mw.TokenSource(r)
			go func() {
				tok, err := source.Token()
				if err != nil {
					done <- err.Error()
					return
				}
				done <- fmt.Sprint("export job has a token: ", tok.Valid(), ", a refresh token: ", tok.RefreshToken != "")
			}()
			fmt.Fprint(w, "export started")
		})))
	})
	defer app.close()

	fmt.Println(app.get("/export"))
	fmt.Println(<-done)
	// Output:
	// 200 export started
	// export job has a token: true, a refresh token: false
}

// The session-info route tells a single-page application who is signed
// in and when the session ends; never a token.
func ExampleSessionInfo() {
	app := startExampleApp(func(cfg *middleware.Config) {
		cfg.SessionInfo = &middleware.SessionInfo{} // GET /auth/session
	}, func(mw *middleware.Middleware) http.Handler {
		return mw.Handler(mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	})
	defer app.close()

	status, _ := app.get("/auth/session")
	fmt.Println("signed out:", status)
	app.get("/app") // signs in
	resp, err := app.Browser.Get(app.URL + "/auth/session")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		Claims    map[string]any `json:"claims"`
		ExpiresIn int            `json:"expires_in"`
		Ending    bool           `json:"ending"`
	}
	json.NewDecoder(resp.Body).Decode(&info)
	fmt.Println(resp.StatusCode, resp.Header.Get("Cache-Control"), info.Claims["sub"], info.Claims["email"], info.Ending, info.ExpiresIn > 0)
	// Output:
	// signed out: 401
	// 200 no-store alice alice@example.com false true
}

// A link that signs the user in with a hint for the provider's login page
// and comes back to /welcome.
func ExampleMiddleware_LoginURL() {
	var link string
	app := startExampleApp(nil, func(mw *middleware.Middleware) http.Handler {
		link = mw.LoginURL("/welcome", url.Values{"login_hint": {"alice@example.com"}})
		return mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, _ := middleware.SessionFromContext(r.Context())
			fmt.Fprintf(w, "%s, %s", r.URL.Path, user.Email)
		}))
	})
	defer app.close()

	fmt.Println(link)
	fmt.Println(app.get(link))
	// Output:
	// /auth/login?login_hint=alice%40example.com&return_to=%2Fwelcome
	// 200 /welcome, alice@example.com
}

// EmailDomain lets in the users whose verified address is in a domain:
// alice, signed in at the development provider, is of example.com.
func ExampleEmailDomain() {
	app := startExampleApp(nil, func(mw *middleware.Middleware) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/staff", mw.Allow(middleware.EmailDomain("example.com"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "staff page")
		})))
		mux.Handle("/partners", mw.Allow(middleware.EmailDomain("partner.example"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "partners page")
		})))
		return mw.Handler(mux)
	})
	defer app.close()

	fmt.Println(app.get("/staff")) // signs in, comes back
	status, _ := app.get("/partners")
	fmt.Println(status)
	// Output:
	// 200 staff page
	// 403
}

// userWith is a session with the given claims, as a login makes.
func userWith(email, claims string) session.Data {
	return session.Data{Provider: "corporate", Subject: "u1", Email: email, ExtraClaimsJSON: claims}
}

// ClaimContains reads a claim as a JSON array of strings, or as a string
// of space-separated values.
func ExampleClaimContains() {
	admin := middleware.ClaimContains("groups", "admin")
	fmt.Println(admin(userWith("", `{"groups":["staff","admin"]}`)))
	fmt.Println(admin(userWith("", `{"groups":"staff admin"}`)))
	fmt.Println(admin(userWith("", `{"groups":["administrators"]}`)))
	fmt.Println(admin(userWith("", `{}`)))
	// Output:
	// true
	// true
	// false
	// false
}

// AllOf requires every rule: staff with a verified address of the
// company.
func ExampleAllOf() {
	rule := middleware.AllOf(
		middleware.ClaimContains("groups", "staff"),
		middleware.EmailDomain("example.com"),
	)
	fmt.Println(rule(userWith("bob@example.com", `{"groups":["staff"],"email_verified":true}`)))
	fmt.Println(rule(userWith("bob@example.com", `{"groups":["staff"],"email_verified":false}`)))
	fmt.Println(rule(userWith("eve@example.org", `{"groups":["staff"],"email_verified":true}`)))
	// Output:
	// true
	// false
	// false
}

// AnyOf requires one of the rules: administrators, or auditors.
func ExampleAnyOf() {
	rule := middleware.AnyOf(
		middleware.ClaimContains("roles", "admin"),
		middleware.ClaimContains("roles", "auditor"),
	)
	fmt.Println(rule(userWith("", `{"roles":"auditor"}`)))
	fmt.Println(rule(userWith("", `{"roles":["editor"]}`)))
	// Output:
	// true
	// false
}
