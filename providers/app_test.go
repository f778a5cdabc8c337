package providers_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// app is an application wrapped by the real middleware, served by
// httptest, with a browser (cookie jar, redirects stepped one by one) on
// the fake internet.
type app struct {
	t    *testing.T
	URL  string
	m    *middleware.Middleware
	http *http.Client // the browser

	mu       sync.Mutex
	reports  []middleware.LogoutReport
	timeline []string // "app.erase" and what the fakes append
}

// newApp starts the application with ps; configure, when not nil,
// adjusts the middleware's configuration first.
func newApp(t *testing.T, n *internet, configure func(*middleware.Config), ps ...providers.Provider) *app {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	a := &app{t: t, URL: "http://" + srv.Listener.Addr().String()}
	cfg := middleware.Config{
		AppURL:     a.URL,
		Providers:  ps,
		Keys:       []session.KeyPair{{HashKey: []byte(strings.Repeat("h", 32)), BlockKey: []byte(strings.Repeat("b", 32))}},
		HTTPClient: n.client(),
		Logger:     slog.New(slog.DiscardHandler),
		OnLogout: func(context.Context, middleware.LogoutEvent) error {
			a.event("app.erase")
			return nil
		},
		OnLogoutReport: func(_ context.Context, rep middleware.LogoutReport) {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.reports = append(a.reports, rep)
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	m, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.URL.Path) })
	mux.Handle("/me", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.SessionFromContext(r.Context())
		json.NewEncoder(w).Encode(d)
	})))
	// /device-login stands for the application's own device flow: it
	// records the device in a new session.
	mux.HandleFunc("/device-login", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		err := m.StartSession(w, r, session.Data{Provider: q.Get("provider"), Subject: "tv-viewer",
			Device: &session.Device{ID: q.Get("device"), Info: q.Get("info"), Requestor: q.Get("requestor"), MVPD: q.Get("mvpd")}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv.Config.Handler = m.Handler(mux)
	srv.Start()
	t.Cleanup(srv.Close)

	jar, _ := cookiejar.New(nil)
	a.http = &http.Client{
		Jar:           jar,
		Transport:     n,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return a
}

func (a *app) event(e string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.timeline = append(a.timeline, e)
}

func (a *app) events() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.timeline...)
}

func (a *app) lastReport() middleware.LogoutReport {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reports) == 0 {
		a.t.Fatal("no logout report")
	}
	return a.reports[len(a.reports)-1]
}

// do sends req from the browser and reads the answer's body.
func (a *app) do(req *http.Request) (*http.Response, string) {
	a.t.Helper()
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func (a *app) get(u string) (*http.Response, string) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.do(req)
}

// post submits a form as a browser would from a page at origin.
func (a *app) post(u, origin string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	return a.do(req)
}

// expectRedirect checks resp is a redirect and returns its absolute
// target.
func (a *app) expectRedirect(resp *http.Response, body string) string {
	a.t.Helper()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		a.t.Fatalf("%s %s answered %s, want a redirect; body: %.300s", resp.Request.Method, resp.Request.URL, resp.Status, body)
	}
	loc, err := resp.Location()
	if err != nil {
		a.t.Fatal(err)
	}
	return loc.String()
}

// login runs a whole login at provider and returns the authorization URL
// the middleware sent the browser to. The user lands on /me.
func (a *app) login(provider string) string {
	a.t.Helper()
	authorize := a.expectRedirect(a.get(a.URL + "/auth/login?return_to=%2Fme&provider=" + url.QueryEscape(provider)))
	callback := a.expectRedirect(a.get(authorize))
	// The callback is /auth/callback, or /auth/callback/NAME when several
	// providers have a login.
	au, err := url.Parse(authorize)
	if err != nil {
		a.t.Fatal(err)
	}
	redirect := au.Query().Get("redirect_uri")
	if redirect != a.URL+"/auth/callback" && redirect != a.URL+"/auth/callback/"+provider {
		a.t.Fatalf("the login asks for redirect_uri %s", redirect)
	}
	if !strings.HasPrefix(callback, redirect+"?") {
		a.t.Fatalf("provider sent the browser to %s, want the callback", callback)
	}
	if got := a.expectRedirect(a.get(callback)); got != a.URL+"/me" {
		a.t.Fatalf("after the callback the browser goes to %s, want /me", got)
	}
	return authorize
}

// session returns the current session as the application sees it.
func (a *app) session() (session.Data, bool) {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+"/me", nil)
	req.Header.Set("Accept", "application/json")
	resp, body := a.do(req)
	if resp.StatusCode == http.StatusUnauthorized {
		return session.Data{}, false
	}
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("/me answered %s: %s", resp.Status, body)
	}
	var d session.Data
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		a.t.Fatal(err)
	}
	return d, true
}

// logout submits the application's sign-out form (same origin) and
// returns the middleware's answer.
func (a *app) logout(returnTo string) (*http.Response, string) {
	a.t.Helper()
	form := url.Values{}
	if returnTo != "" {
		form.Set("return_to", returnTo)
	}
	return a.post(a.URL+"/auth/logout", a.URL, form)
}

// follow steps the browser through redirects from resp and returns the
// last URL it requested.
func (a *app) follow(resp *http.Response, body string) string {
	a.t.Helper()
	last := resp.Request.URL.String()
	for i := 0; resp.StatusCode >= 300 && resp.StatusCode <= 399; i++ {
		if i > 10 {
			a.t.Fatal("too many redirects")
		}
		last = a.expectRedirect(resp, body)
		resp, body = a.get(last)
	}
	if resp.StatusCode != http.StatusOK {
		a.t.Fatalf("GET %s answered %s: %.300s", last, resp.Status, body)
	}
	return last
}

var (
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]*)" id="logout-form">`)
	inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// autoPostForm reads the auto-submitted logout form the middleware
// renders: where it posts and what.
func autoPostForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no auto-submitted form in %.500s", page)
	}
	form := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), form
}

// stepsOf returns a report's steps as "name ok|failed" lines.
func stepsOf(rep middleware.LogoutReport) map[string]bool {
	out := map[string]bool{}
	for _, s := range rep.Steps {
		out[s.Name] = s.OK
	}
	return out
}
