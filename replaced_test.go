package endsession_test

import (
	"net/http"
	"testing"

	"github.com/endsession/endsession/middleware"
)

// A login in a browser that has a session replaces it: the old session
// ends as any other does, with the erasure hook and an audit record, and
// a copy of its cookie opens nothing.
func TestANewLoginEndsThePreviousSession(t *testing.T) {
	s := newStack(t)
	s.login()
	old := s.sessionCookies()
	resp, _ := s.follow(s.get("/auth/login?prompt=login&return_to=%2Fprofile"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second login: %d", resp.StatusCode)
	}
	s.mu.Lock()
	events, reports := append([]middleware.LogoutEvent(nil), s.events...), append([]middleware.LogoutReport(nil), s.reports...)
	s.mu.Unlock()
	if len(events) != 1 || events[0].Reason != middleware.ReasonReplaced || events[0].Session == nil || events[0].Subject != "alice" {
		t.Fatalf("erasure hook events %+v, want one ReasonReplaced with the old session", events)
	}
	if len(reports) != 1 || reports[0].Reason != middleware.ReasonReplaced {
		t.Fatalf("audit records %+v, want one for the replaced session", reports)
	}
	req, _ := http.NewRequest(http.MethodGet, s.appURL+"/profile", nil)
	for _, c := range old {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	req.Header.Set("Accept", "text/html")
	if resp, err := http.DefaultTransport.RoundTrip(req); err != nil || resp.StatusCode == http.StatusOK {
		t.Fatalf("a copy of the replaced session's cookie: %v %v", resp.StatusCode, err)
	}
}
