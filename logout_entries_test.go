package endsession_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
)

// TestLogoutByGetNeedsADocumentNavigation: a GET of the logout route logs
// out only when the browser says it is a top-level navigation of a
// document from the same origin. An image, a fetch, a frame, a prefetch or
// a browser that sends no Fetch Metadata at all gets the confirmation page,
// and the session survives.
func TestLogoutByGetNeedsADocumentNavigation(t *testing.T) {
	s := newStack(t)
	s.login()
	for _, c := range []struct {
		name   string
		header []string
	}{
		{"same-origin image", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"}},
		{"same-origin fetch", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"}},
		{"same-origin frame", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"}},
		{"same-origin, mode and destination missing", []string{"Sec-Fetch-Site", "same-origin"}},
		{"same-origin navigation, destination missing", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate"}},
		{"same-origin prefetch", []string{"Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Sec-Purpose", "prefetch"}},
		{"no Fetch Metadata, matching Origin", []string{"Origin", s.appURL}},
		{"no Fetch Metadata", nil},
		{"typed or bookmarked", []string{"Sec-Fetch-Site", "none", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}},
		{"link from another site", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}},
	} {
		resp := s.get("/auth/logout", c.header...)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), `id="confirm-logout"`) {
			t.Errorf("%s: %d %q, want the confirmation page", c.name, resp.StatusCode, body(resp))
		}
		for _, ck := range resp.Cookies() {
			if ck.MaxAge < 0 {
				t.Errorf("%s: the answer expires cookie %s", c.name, ck.Name)
			}
		}
		if len(s.reports) > 0 {
			t.Fatalf("%s: a logout ran: %+v", c.name, s.reports)
		}
	}
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after requests that must not log out, the session is gone: %d", resp.StatusCode)
	}

	// A link on the application's own pages logs out.
	resp := s.get("/auth/logout", "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), s.op.Issuer()) {
		t.Fatalf("same-origin link: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(s.reports) != 1 || len(s.sessionCookies()) != 0 {
		t.Fatalf("same-origin link: %d logout reports, session cookies %v", len(s.reports), s.sessionCookies())
	}
}

// TestConfirmedLogoutNavigatesFromAPage: the confirmation page's form
// (form-action 'self') is answered with a page of the application that
// navigates to the provider, never with a redirect the browser would
// block; that page allows no form. The auto-submitted form's page allows
// the provider's origin and the application's, for the redirect back.
func TestConfirmedLogoutNavigatesFromAPage(t *testing.T) {
	s := newStack(t)
	s.login()
	confirm := s.get("/auth/logout", "Sec-Fetch-Site", "none")
	if csp := confirm.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "form-action 'self'") ||
		!strings.Contains(body(confirm), `name="form_action" value="self"`) {
		t.Fatalf("confirmation page CSP %q, body %q", csp, body(confirm))
	}
	req, _ := http.NewRequest(http.MethodPost, s.appURL+"/auth/logout", strings.NewReader("form_action=self"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.appURL)
	resp := s.do(req)
	page := body(resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" ||
		!strings.Contains(page, `location.replace("`+s.op.Issuer()+`/end_session?`) {
		t.Fatalf("confirmed logout: %d, Location %q, page %q", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "form-action 'none'") || !strings.Contains(csp, "script-src 'nonce-") {
		t.Errorf("navigation page CSP %q", csp)
	}
	if len(s.sessionCookies()) != 0 || len(s.reports) != 1 {
		t.Errorf("after the confirmed logout: session cookies %v, %d reports", s.sessionCookies(), len(s.reports))
	}
}

// dropLogoutCookie removes the logout state cookie from the jar, as the
// browser does once it has lapsed.
func (s *stack) dropLogoutCookie() {
	s.t.Helper()
	u, _ := url.Parse(s.appURL + "/auth/logged-out")
	var found bool
	for _, c := range s.client.Jar.Cookies(u) {
		if strings.Contains(c.Name, "endsession_logout") {
			found = true
			s.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Path: "/", MaxAge: -1}})
		}
	}
	if !found {
		s.t.Fatal("no logout state cookie to drop")
	}
}

// TestLateLogoutStateLandsSignedOut: when the provider comes back after
// the logout state cookie lapsed (a slow confirmation), a state this
// application issued still lands as signed out, with the late-return
// notice and a log record; a state it did not issue, one altered, or one
// too old is still refused. With the cookie, the state must be the very
// one sent.
func TestLateLogoutStateLandsSignedOut(t *testing.T) {
	s := newStack(t)
	s.login()
	sent := s.logoutRedirect().Query().Get("state")
	s.dropLogoutCookie()
	resp := s.get("/auth/logged-out?state=" + url.QueryEscape(sent))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?logout_notice="+middleware.NoticeLateReturn {
		t.Fatalf("a late state: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body(resp))
	}
	if !strings.Contains(s.logs.String(), `"notice":"`+middleware.NoticeLateReturn+`"`) {
		t.Errorf("the landing of a late state is not logged with its notice:\n%s", s.logs.String())
	}

	altered := []byte(sent)
	altered[len(altered)/2] ^= 1
	for _, c := range []struct{ name, state string }{
		{"a state this application did not issue", "AYOUN4AOJDBKCSHNHSUHQQ6D2U"},
		{"an issued state, altered", string(altered)},
		{"an issued state, cut", sent[:len(sent)-4]},
		{"empty", ""},
	} {
		if resp := s.get("/auth/logged-out?state=" + url.QueryEscape(c.state)); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(body(resp), "could not be verified") {
			t.Errorf("%s, without the cookie: %d %q", c.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// Too old: a state is recognised for a day.
	s = newStack(t)
	s.login()
	sent = s.logoutRedirect().Query().Get("state")
	s.dropLogoutCookie()
	s.advance(25 * time.Hour)
	if resp := s.get("/auth/logged-out?state=" + url.QueryEscape(sent)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a state a day old, without the cookie: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// With the cookie, another issued state is refused: it must be the
	// one this browser sent.
	s = newStack(t)
	s.login()
	other := s.logoutRedirect().Query().Get("state")
	s.login()
	s.logoutRedirect()
	if resp := s.get("/auth/logged-out?state=" + url.QueryEscape(other)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("another logout's state, with this logout's cookie: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
