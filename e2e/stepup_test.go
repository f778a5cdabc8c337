package e2e_test

// Step-up and silent login in Chromium, against oidc-provider: a route
// that demands a stronger or a more recent sign-in sends the signed-in
// user back to the provider with acr_values and max_age, and serves once
// the user has signed in again; a page that tries a silent login
// (prompt=none) signs in a user who has a session at the provider without
// showing a page, and leaves the others anonymous, with no error page.

import (
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/middleware"
)

// strongACR is the stronger of the provider's two authentication context
// classes; see ACR_VALUES in op/server.mjs.
const strongACR = "urn:endsession:e2e:strong"

// stepUpRoutes adds the pages of the step-up and silent login tests:
// /maybe tries a silent login, /recent needs a sign-in of the last second
// (and the middleware's leeway of a minute), /strong needs strongACR.
func (a *app) stepUpRoutes(mux *http.ServeMux) {
	show := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := middleware.SessionFromContext(r.Context())
		if !ok {
			page(w, `<p id="anonymous">anonymous</p>`)
			return
		}
		var c struct {
			ACR      string  `json:"acr"`
			AuthTime float64 `json:"auth_time"`
		}
		d.Claims(&c)
		page(w, `<p id="user">%s</p><p id="acr">%s</p><p id="auth-time">%d</p>`,
			html.EscapeString(d.Subject), html.EscapeString(c.ACR), int64(c.AuthTime))
	})
	mux.Handle("GET /maybe", a.MW.TrySilentLogin(show))
	mux.Handle("GET /recent", a.MW.RequireAuthentication(middleware.Authentication{MaxAge: time.Second})(show))
	mux.Handle("GET /strong", a.MW.RequireAuthentication(middleware.Authentication{
		ACR: []string{strongACR}, MaxAge: 10 * time.Minute,
	})(show))
}

// authorizeRequests returns the query of every authorization request b
// sent to the provider o since its requests were last reset.
func authorizeRequests(t *testing.T, b *browser.Browser, o *op.OP) []url.Values {
	t.Helper()
	endpoint := o.Discovery(t).AuthorizationEndpoint
	var out []url.Values
	for _, r := range b.RequestsTo(endpoint) {
		// Not the provider's own resumes, /auth/UID, after its pages.
		if u, err := url.Parse(r.URL); err == nil && u.Scheme+"://"+u.Host+u.Path == endpoint {
			out = append(out, r.Query())
		}
	}
	return out
}

// authTime reads the auth_time the step-up pages show.
func authTime(t *testing.T, b *browser.Browser) int64 {
	t.Helper()
	n, err := strconv.ParseInt(b.Text("#auth-time"), 10, 64)
	if err != nil {
		t.Fatalf("the page shows no auth_time: %v", err)
	}
	return n
}

// assertNoErrorPage checks that the app answered nothing with an error
// status since its responses were last reset.
func assertNoErrorPage(t *testing.T, a *app) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.responses {
		if r.Status >= 400 {
			t.Errorf("the app answered %s", r)
		}
	}
}

func TestBrowserStepUpToAStrongerSignIn(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	login(t, b, a, "stepper")

	b.ResetRequests()
	a.ResetResponses()
	b.Navigate(a.URL + "/strong")
	// The provider's session is of a plain sign-in: it asks again.
	b.LoginAtOP("stepper", "password of stepper")
	b.WaitURL("the strong page", func(u *url.URL) bool { return u.String() == a.URL+"/strong" })
	if got := b.Text("#user"); got != "stepper" {
		t.Fatalf("the strong page shows user %q", got)
	}
	if got := b.Text("#acr"); got != strongACR {
		t.Errorf("the session's acr is %q, want %q", got, strongACR)
	}
	reqs := authorizeRequests(t, b, o)
	if len(reqs) != 1 {
		t.Fatalf("%d authorization requests for the step-up, want 1", len(reqs))
	}
	if q := reqs[0]; q.Get("acr_values") != strongACR || q.Get("max_age") != "600" || q.Get("prompt") != "" {
		t.Errorf("the step-up asked acr_values=%q max_age=%q prompt=%q, want %q, 600 and none",
			q.Get("acr_values"), q.Get("max_age"), q.Get("prompt"), strongACR)
	}
	assertNoErrorPage(t, a)

	// Signed in strongly, the page serves at once.
	b.ResetRequests()
	b.Navigate(a.URL + "/strong")
	if got := b.Text("#acr"); got != strongACR || b.URL() != a.URL+"/strong" {
		t.Fatalf("the strong page afterwards: acr %q at %s", got, b.URL())
	}
	if n := len(authorizeRequests(t, b, o)); n != 0 {
		t.Errorf("the strong page went to the provider again (%d times)", n)
	}
}

func TestBrowserStepUpToARecentSignIn(t *testing.T) {
	// Tokens that outlive the test, so that the app's clock, set forward
	// below, refreshes nothing.
	o := op.Start(t, op.Config{
		AppURLs:        []string{"http://" + peers.AppAddr(t)},
		AccessTokenTTL: 10 * time.Minute, IDTokenTTL: 10 * time.Minute,
	})
	var ahead atomic.Int64
	b := browser.New(t)
	a := startApp(t, o, func(c *middleware.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	login(t, b, a, "recent")

	// The first login asked no max_age, and its ID token has no auth_time
	// (oidc-provider 9 puts one in when the request asks max_age): /recent
	// asks with max_age=1, and the provider answers from its session,
	// without a page unless that second has passed already.
	b.Navigate(a.URL + "/recent")
	if b.Exists(browser.OPLoginField) {
		b.LoginAtOP("recent", "password of recent")
		b.WaitURL("the recent page", func(u *url.URL) bool { return u.String() == a.URL+"/recent" })
	}
	if b.URL() != a.URL+"/recent" || b.Text("#user") != "recent" {
		t.Fatalf("/recent after the sign-in: %s", b.URL())
	}
	first := authTime(t, b)

	// Signed in within the limit (a second, and the middleware's leeway
	// of a minute): /recent serves at once.
	b.ResetRequests()
	b.Navigate(a.URL + "/recent")
	if b.URL() != a.URL+"/recent" || b.Text("#user") != "recent" {
		t.Fatalf("/recent again: %s", b.URL())
	}
	if n := len(authorizeRequests(t, b, o)); n != 0 {
		t.Fatalf("/recent with a recent sign-in went to the provider (%d times)", n)
	}

	// Two minutes later by the app's clock (and two seconds by the
	// provider's, past its max_age of one), the sign-in is too old.
	time.Sleep(time.Until(time.Unix(first+2, 0)))
	ahead.Store(int64(2 * time.Minute))
	b.ResetRequests()
	a.ResetResponses()
	b.Navigate(a.URL + "/recent")
	b.WaitVisible(browser.OPLoginField) // the provider asks the user to sign in again
	ahead.Store(0)
	b.LoginAtOP("recent", "password of recent")
	b.WaitURL("the recent page", func(u *url.URL) bool { return u.String() == a.URL+"/recent" })
	if got := b.Text("#user"); got != "recent" {
		t.Fatalf("/recent after signing in again shows user %q", got)
	}
	if second := authTime(t, b); second <= first {
		t.Errorf("auth_time %d after signing in again, %d before: not a new sign-in", second, first)
	}
	reqs := authorizeRequests(t, b, o)
	if len(reqs) != 1 || reqs[0].Get("max_age") != "1" || reqs[0].Has("acr_values") {
		t.Errorf("the step-up's authorization requests: %v, want one with max_age=1 and no acr_values", reqs)
	}
	assertNoErrorPage(t, a)
}

func TestBrowserSilentLogin(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	noInteraction := func(what string) {
		t.Helper()
		for _, n := range b.NavigationURLs() {
			if strings.Contains(n, "/interaction/") {
				t.Errorf("%s: the provider showed a page (%s)", what, n)
			}
		}
	}

	// No session at the provider: back anonymous where the user was.
	b.Navigate(a.URL + "/maybe")
	if b.URL() != a.URL+"/maybe" || !b.Exists("#anonymous") {
		t.Fatalf("a silent login without a provider session ends at %s: %s", b.URL(), b.HTML())
	}
	reqs := authorizeRequests(t, b, o)
	if len(reqs) != 1 || reqs[0].Get("prompt") != "none" {
		t.Fatalf("the silent login's authorization requests: %v, want one with prompt=none", reqs)
	}
	noInteraction("without a provider session")
	assertNoErrorPage(t, a)
	if names := appCookieNames(b); len(names) != 0 {
		t.Errorf("the app left cookies with a value: %v", names)
	}

	// A session at the provider, none at the app (the app's session
	// cookies are gone, as when the browser was closed): signed in
	// without a page.
	login(t, b, a, "quiet")
	for _, name := range sessionCookieNames(b, a) {
		b.DeleteCookie(a.URL, name)
	}
	b.ResetRequests()
	a.ResetResponses()
	b.Navigate(a.URL + "/maybe")
	if b.URL() != a.URL+"/maybe" || b.Text("#user") != "quiet" {
		t.Fatalf("a silent login with a provider session ends at %s: %s", b.URL(), b.HTML())
	}
	reqs = authorizeRequests(t, b, o)
	if len(reqs) != 1 || reqs[0].Get("prompt") != "none" {
		t.Fatalf("the silent login's authorization requests: %v, want one with prompt=none", reqs)
	}
	noInteraction("with a provider session")
	assertNoErrorPage(t, a)
}
