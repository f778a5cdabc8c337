package e2e_test

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/middleware"
)

// logoutEntry is one way a user starts a logout in the browser, from the
// protected page.
type logoutEntry struct {
	name  string
	start func(t *testing.T, b *browser.Browser, a *app)
	// method is that of the request to /auth/logout that logs out.
	method string
	// confirm: the middleware's confirmation page comes first, and its
	// button logs out.
	confirm bool
}

var (
	// signOutButton is the protected page's sign-out button: a form that
	// posts to /auth/logout.
	signOutButton = logoutEntry{name: "sign-out button", method: http.MethodPost,
		start: func(t *testing.T, b *browser.Browser, a *app) { b.Click("#logout") }}
	// signOutLink is a link to /auth/logout on the protected page.
	signOutLink = logoutEntry{name: "same-origin link", method: http.MethodGet,
		start: func(t *testing.T, b *browser.Browser, a *app) { b.Click("#logout-link") }}
	// typedLogoutURL is /auth/logout typed in the address bar, or a
	// bookmark: Sec-Fetch-Site none.
	typedLogoutURL = logoutEntry{name: "typed URL, then the confirmation", method: http.MethodPost, confirm: true,
		start: func(t *testing.T, b *browser.Browser, a *app) {
			b.Navigate(a.URL + "/auth/logout")
			confirmLogout(t, b, a)
		}}
	// linkFromAnotherSite is a link to /auth/logout on a page of another
	// site (localhost, where the app is on 127.0.0.1).
	linkFromAnotherSite = logoutEntry{name: "link from another site, then the confirmation", method: http.MethodPost, confirm: true,
		start: func(t *testing.T, b *browser.Browser, a *app) {
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>elsewhere</title></head><body><a id="to-app" href="%s">sign out of the app</a></body></html>`,
					html.EscapeString(a.URL+"/auth/logout"))
			}))
			t.Cleanup(other.Close)
			_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
			b.Navigate("http://localhost:" + port + "/")
			b.Click("#to-app")
			b.WaitURLPrefix(a.URL + "/auth/logout")
			confirmLogout(t, b, a)
		}}
)

// confirmLogout checks that the browser is on the middleware's
// confirmation page, which did not log out, and clicks its button.
func confirmLogout(t *testing.T, b *browser.Browser, a *app) {
	t.Helper()
	b.WaitVisible("#confirm-logout")
	if got := sessionCookieNames(b, a); len(got) == 0 {
		t.Fatal("the confirmation page removed the session cookies before the user confirmed")
	}
	b.Click("#confirm-logout")
}

// checkLogoutResponse checks the app's answer to the request that logged
// out through entry, and returns it: a 303 to the end-session endpoint for
// a GET logout started on the app's own pages; a page that navigates there
// after the confirmation page, whose form may only go to the app itself;
// the auto-submitted form when the provider's logout is a POST.
func checkLogoutResponse(t *testing.T, a *app, entry logoutEntry, endMethod, endpoint string) response {
	t.Helper()
	if entry.confirm {
		confirm := a.Response(http.MethodGet, "/auth/logout")
		if confirm.Status != http.StatusOK || cspDirective(confirm, "form-action") != "'self'" {
			t.Errorf("the confirmation page is %s with CSP %q, want 200 and form-action 'self'",
				confirm, confirm.Header.Get("Content-Security-Policy"))
		}
		for _, c := range confirm.Cookies() {
			if c.MaxAge < 0 {
				t.Errorf("the confirmation page expires cookie %s", c.Name)
			}
		}
	}
	resp := a.Response(entry.method, "/auth/logout")
	switch {
	case endMethod == http.MethodPost:
		end, _ := url.Parse(endpoint)
		want := end.Scheme + "://" + end.Host + " " + a.URL
		if resp.Status != http.StatusOK || cspDirective(resp, "form-action") != want {
			t.Errorf("the logout response is %s with CSP %q, want the form page with form-action %s",
				resp, resp.Header.Get("Content-Security-Policy"), want)
		}
	case entry.confirm:
		if resp.Status != http.StatusOK || resp.Header.Get("Location") != "" || cspDirective(resp, "form-action") != "'none'" {
			t.Errorf("the logout response is %s with CSP %q, want a page that navigates, form-action 'none'",
				resp, resp.Header.Get("Content-Security-Policy"))
		}
	default:
		if resp.Status != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), endpoint+"?") {
			t.Errorf("the logout response is %s, want 303 to %s", resp, endpoint)
		}
	}
	return resp
}

// cspDirective returns the value of one directive of the response's
// Content-Security-Policy.
func cspDirective(r response, name string) string {
	for _, d := range strings.Split(r.Header.Get("Content-Security-Policy"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestLogoutEntries is every way into logout, in Chromium against the
// real provider: the sign-out button, a same-origin link, a typed URL (or
// bookmark) and a link from another site, the last two through the
// middleware's confirmation page. Each ends with the provider's session
// gone (its admin view and its event log), the state checked on the way
// back, no cookie of the app left, and the password asked again.
func TestLogoutEntries(t *testing.T) {
	o := op.Shared(t)
	for i, entry := range []logoutEntry{signOutButton, signOutLink, typedLogoutURL, linkFromAnotherSite} {
		t.Run(entry.name, func(t *testing.T) {
			b := browser.New(t)
			a := startApp(t, o)
			d := login(t, b, a, fmt.Sprintf("entry%d", i))
			res := logoutThrough(t, b, a, o, d.IDToken, entry, http.MethodGet)
			if res.Erased.ID != d.ID {
				t.Errorf("OnLogout got session %q, want %q", res.Erased.ID, d.ID)
			}
			requireStep(t, a, "provider.end_session", true)
			requireLoginForm(t, b, a, o)
		})
	}
}

// TestLogoutByGetOnlyOnNavigation: content on the app's own pages that
// points at the logout route, an image and a script's fetch, does not log
// the user out; the user is still signed in, and the provider was not
// asked. A same-origin link does log out (TestLogoutEntries).
func TestLogoutByGetOnlyOnNavigation(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	d := login(t, b, a, "pixel")
	a.ResetResponses()
	mark := o.Mark(t)

	b.Navigate(a.URL + "/board")
	b.WaitVisible("#done")
	gets := a.Responses(http.MethodGet, "/auth/logout")
	if len(gets) != 2 {
		t.Fatalf("%d GET requests to /auth/logout, want 2 (the image and the fetch):\n%s", len(gets), a.describe())
	}
	for _, r := range gets {
		if r.SecFetchSite != "same-origin" {
			t.Errorf("%s: Sec-Fetch-Site %q, want same-origin: the test proves nothing", r, r.SecFetchSite)
		}
		if r.Status != http.StatusOK || r.Header.Get("Location") != "" {
			t.Errorf("%s, want 200 (the confirmation page)", r)
		}
		for _, c := range r.Cookies() {
			if a.isSessionCookie(c.Name) {
				t.Errorf("%s sets the session cookie %s (Max-Age %d)", r, c.Name, c.MaxAge)
			}
		}
	}
	if rs := a.Reports(); len(rs) > 0 {
		t.Errorf("a logout ran: %+v", rs)
	}
	for _, e := range o.Events(t, mark, "http.request") {
		if e.Str("route") == "end_session" {
			t.Errorf("the browser went to the provider's end-session endpoint: %s", e)
		}
	}
	b.Navigate(a.URL + "/profile")
	if got := b.Text("#user"); got != d.Subject {
		t.Fatalf("after the image and the fetch the protected page shows %q at %s, want %q", got, b.URL(), d.Subject)
	}
	if s := a.LastSession(); s.ID != d.ID {
		t.Errorf("the session changed: %q, was %q", s.ID, d.ID)
	}
}

// TestSlowConfirmationAtTheProvider: the user takes longer at the
// provider's "Do you want to sign out?" page than the logout state cookie
// lives. The browser has dropped the cookie when the provider comes back
// with the state; the app recognises the state as one it issued and lands
// the user signed out, with the late-return notice, not on an error page.
func TestSlowConfirmationAtTheProvider(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	login(t, b, a, "slowpoke")
	sid := b.Text("#sid")
	a.ResetResponses()
	b.ResetRequests()

	b.Click("#logout")
	b.WaitVisible(browser.OPLogoutYesButton)
	var dropped []string
	for _, c := range b.AllCookies() {
		if isAppCookie(c.Name) && strings.Contains(c.Name, "logout") {
			b.DeleteCookie(a.URL+c.Path, c.Name)
			dropped = append(dropped, c.Name)
		}
	}
	if len(dropped) == 0 {
		t.Fatalf("no logout state cookie to let lapse among %v", appCookieNames(b))
	}
	final := b.ConfirmLogoutAtOP(true)
	if final.Path != op.LoggedOutPath {
		final = b.WaitURL("the app's home", func(u *url.URL) bool { return u.Path == "/" })
	}
	if got := b.Text("#notice"); final.Path != "/" || got != middleware.NoticeLateReturn {
		t.Fatalf("after a slow confirmation the browser is at %s, notice %q, want the home page with %q", final, got, middleware.NoticeLateReturn)
	}
	lands := b.RequestsTo(a.URL + op.LoggedOutPath)
	if len(lands) != 1 || lands[0].Query().Get("state") == "" {
		t.Fatalf("the provider came back with %v, want the state", lands)
	}
	if resp := a.Response(http.MethodGet, op.LoggedOutPath); resp.Status != http.StatusSeeOther {
		t.Errorf("the landing answered %s, want 303", resp)
	}
	if n := o.SessionsWithSID(t, sid); n != 0 {
		t.Errorf("the provider still holds the session (its admin view finds %d)", n)
	}
	if left := appCookieNames(b); len(left) > 0 {
		t.Errorf("after the logout the browser still holds the app's cookies %v", left)
	}
	requireLoginForm(t, b, a, o)
}
