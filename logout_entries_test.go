package endsession_test

import (
	"net/http"
	"strings"
	"testing"
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
