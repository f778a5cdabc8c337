package endsession_test

// How many provider round trips a sign-out waits for: the revocations go
// side by side, after the refresh that an expired ID token needs for the
// hint. The tests hold each provider call until the calls that should be
// in flight together are, so that they depend on no timing.

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
)

// rendezvous is a transport that holds each revocation request until
// want of them are in flight at once, or for at most 4 s, and
// records the order in which provider calls start and end.
type rendezvous struct {
	next http.RoundTripper
	want int

	mu       sync.Mutex
	arrived  int
	all      chan struct{} // closed when want revocations arrived
	timedOut bool
	events   []string
}

func newRendezvous(want int) *rendezvous {
	return &rendezvous{next: http.DefaultTransport, want: want, all: make(chan struct{})}
}

func (z *rendezvous) log(e string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.events = append(z.events, e)
}

func (z *rendezvous) RoundTrip(r *http.Request) (*http.Response, error) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if strings.HasSuffix(r.URL.Path, string(devprovider.Revocation)) {
		z.mu.Lock()
		z.arrived++
		if z.arrived == z.want {
			close(z.all)
		}
		z.mu.Unlock()
		select {
		case <-z.all:
		case <-time.After(4 * time.Second):
			z.mu.Lock()
			z.timedOut = true
			z.mu.Unlock()
		}
	}
	z.log("start " + name)
	resp, err := z.next.RoundTrip(r)
	z.log("end " + name)
	return resp, err
}

func withRendezvous(z *rendezvous) stackOption {
	return withMW(func(c *middleware.Config) {
		c.HTTPClient = &http.Client{Transport: z}
		// Longer than the rendezvous waits, shorter than the browser.
		c.LogoutTimeout = 8 * time.Second
	})
}

// With a fresh ID token, the refresh token and the access token are
// revoked side by side: a sign-out waits for one provider round trip.
func TestLogoutRevokesSideBySide(t *testing.T) {
	z := newRendezvous(2)
	s := newStack(t, withRendezvous(z))
	s.login()
	s.logoutRedirect()
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.timedOut || z.arrived != 2 {
		t.Fatalf("%d revocations, one waited for the other: %v; want both in flight at once", z.arrived, z.events)
	}
	if st := s.step(t, "provider.revoke"); !st.OK || st.Detail != "revoked: refresh_token access_token" {
		t.Errorf("step %+v", st)
	}
}

// With an expired ID token, the refresh for the hint comes first (its
// new refresh token is the one revoked), then both revocations side by
// side: two round trips.
func TestLogoutRefreshesThenRevokesSideBySide(t *testing.T) {
	z := newRendezvous(2)
	s := newStack(t, withRendezvous(z), withOP(func(op *devprovider.Config) { op.IDTokenTTL = time.Minute }))
	s.login()
	s.advance(time.Minute + time.Second)
	z.mu.Lock()
	z.events = nil
	z.mu.Unlock()
	s.logoutRedirect()
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.timedOut || z.arrived != 2 {
		t.Fatalf("%d revocations, one waited for the other: %v; want both in flight at once", z.arrived, z.events)
	}
	tokenEnd, firstRevoke := -1, -1
	for i, e := range z.events {
		switch {
		case e == "end token":
			tokenEnd = i
		case e == "start revoke" && firstRevoke < 0:
			firstRevoke = i
		}
	}
	if tokenEnd < 0 || firstRevoke < tokenEnd {
		t.Fatalf("provider calls %v; want the refresh done before the revocations", z.events)
	}
	if s.refreshGrants() != 1 {
		t.Errorf("%d refreshes at logout, want 1", s.refreshGrants())
	}
}
