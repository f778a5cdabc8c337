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
