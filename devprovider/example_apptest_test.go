package devprovider_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// How an application tests its own sign-in and sign-out: the provider and
// the application both run in the test process, a client with a cookie
// jar plays the browser, and the provider's request log shows what the
// application sent. In a real test, replace log.Fatal with t.Fatal and
// the prints with assertions.
func Example_testYourApp() {
	// The app's server first, for its URL; its handler comes below.
	var app http.Handler
	appServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { app.ServeHTTP(w, r) }))
	defer appServer.Close()

	op, err := devprovider.Start(devprovider.Config{
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs:           []string{appServer.URL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{appServer.URL + "/auth/logged-out"},
		}},
		AutoLogin: "alice", // no login page; see the package doc to fill it in
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()

	keys, _ := session.GenerateKeyPair()
	mw, err := middleware.New(middleware.Config{
		AppURL:    appServer.URL,
		Providers: []providers.Provider{providers.OIDC("dev", op.Issuer(), "app", "app-secret")},
		Keys:      []session.KeyPair{keys},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	app = mw.Handler(mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprint(w, "hello ", user.Email)
	})))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(appServer.URL + "/inbox")
	if err != nil {
		log.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(page))

	req, _ := http.NewRequest(http.MethodPost, appServer.URL+"/auth/logout", strings.NewReader("return_to=%2Finbox"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", appServer.URL)
	resp, err = browser.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	for _, r := range op.Requests() {
		if r.Path == "/end_session" {
			fmt.Println("end_session with id_token_hint:", r.Query.Get("id_token_hint") != "")
		}
	}
	// Output:
	// hello alice@example.com
	// end_session with id_token_hint: true
}
