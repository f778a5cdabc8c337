package e2e_test

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
)

// attackerPage is a page of another origin that tries to log the user out
// of the app: an image whose source is the logout route, then, once the page
// has loaded (the image has been fetched), a form that posts itself to the
// logout route.
func attackerPage(appURL string) http.Handler {
	logout := html.EscapeString(appURL + "/auth/logout")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>win a prize</title></head><body>
<img id="pixel" src="%s" alt="">
<form id="forged" method="post" action="%s"><input type="hidden" name="return_to" value="/"></form>
<script>window.addEventListener("load", () => document.getElementById("forged").submit());</script>
</body></html>`, logout, logout)
	})
}

// TestCrossSiteLogoutIsRefused is scenario 8: a page of another origin,
// with an <img> pointing at the logout route and a form that posts itself
// there, does not log the user out. It runs from another port on 127.0.0.1
// (same site, other origin) and from localhost (another site), which the
// browser harness's host-resolver rule leaves alone (EXCLUDE localhost).
func TestCrossSiteLogoutIsRefused(t *testing.T) {
	if !strings.Contains(browser.HostResolverRules, "EXCLUDE localhost") {
		t.Fatalf("the browser's host-resolver rule %q maps localhost away: the cross-site page could not load", browser.HostResolverRules)
	}
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	d := login(t, b, a, "dave")

	evil := httptest.NewServer(attackerPage(a.URL))
	t.Cleanup(evil.Close)
	_, port, _ := net.SplitHostPort(evil.Listener.Addr().String())

	for _, c := range []struct {
		name, origin, secFetchSite string
	}{
		{"same site, other origin", "http://127.0.0.1:" + port, "same-site"},
		{"other site", "http://localhost:" + port, "cross-site"},
	} {
		// No t.Run: the browser belongs to this test's goroutine.
		t.Logf("the forgeries come from %s (%s)", c.origin, c.name)
		a.ResetResponses()
		b.ResetRequests()
		mark := o.Mark(t)

		b.Navigate(c.origin + "/")
		post := a.WaitResponse(http.MethodPost, "/auth/logout")
		img := a.Responses(http.MethodGet, "/auth/logout")
		if len(img) != 1 {
			t.Fatalf("%s: the app got %d GET requests to /auth/logout, want 1 (the <img>):\n%s", c.name, len(img), a.describe())
		}
		// Both forgeries reached the app as requests from the other origin...
		for _, r := range []response{img[0], post} {
			if r.SecFetchSite != c.secFetchSite {
				t.Errorf("%s: %s: Sec-Fetch-Site %q, want %q: the forged page is not where the test means it to be", c.name, r, r.SecFetchSite, c.secFetchSite)
			}
			// ...and neither touched the session.
			for _, ck := range r.Cookies() {
				if a.isSessionCookie(ck.Name) {
					t.Errorf("%s: %s sets the session cookie %s (Max-Age %d)", c.name, r, ck.Name, ck.MaxAge)
				}
			}
		}
		// The image got the confirmation page, not a logout; the form a 403.
		if img[0].Status != http.StatusOK || img[0].Header.Get("Location") != "" {
			t.Errorf("%s: the <img> request was answered %s, want 200 (the confirmation page)", c.name, img[0])
		}
		if post.Status != http.StatusForbidden {
			t.Errorf("%s: the forged POST was answered %s, want 403", c.name, post)
		}
		// The form took the tab to the app: to its refusal, the 403 page.
		if u := b.WaitURLPrefix(a.URL + "/"); u.Path != "/auth/logout" {
			t.Errorf("%s: the forged form took the browser to %s, want the 403 page at /auth/logout", c.name, u)
		}
		for _, e := range o.Events(t, mark, "http.request") {
			if e.Str("route") == "end_session" {
				t.Errorf("%s: the browser went to the provider's end-session endpoint: %s", c.name, e)
			}
		}
		if rs := a.Reports(); len(rs) > 0 {
			t.Errorf("%s: a logout ran: %+v", c.name, rs)
		}

		// The user is still signed in.
		b.Navigate(a.URL + "/profile")
		if got := b.Text("#user"); got != d.Subject {
			t.Fatalf("%s: after the forged logout the protected page shows %q at %s, want %q", c.name, got, b.URL(), d.Subject)
		}
		if s := a.LastSession(); s.ID != d.ID {
			t.Errorf("%s: the session changed: %q, was %q", c.name, s.ID, d.ID)
		}
	}
}
