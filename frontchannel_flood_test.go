package endsession_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// liveHeap returns the bytes of live heap objects, after two collections.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// frontchannel serves one front-channel logout request for sid, without
// cookies, straight to the handler (no server limit on the URL's length).
func (s *stack) frontchannel(sid string) int {
	q := url.Values{"iss": {s.op.Issuer()}, "sid": {sid}}
	rec := httptest.NewRecorder()
	(*s.handler.Load()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, s.appURL+"/auth/frontchannel-logout?"+q.Encode(), nil))
	return rec.Code
}

// TestFrontchannelFloodIsBounded attacks the unauthenticated front-channel
// route: a huge sid is refused, and a flood of distinct made-up sids
// keeps the heap within the revocation list's documented bound (the
// cookie store) or records nothing (a server-side store), and evicts no
// user's logout.
func TestFrontchannelFloodIsBounded(t *testing.T) {
	for _, store := range []string{"CookieStore", "ServerStore"} {
		t.Run(store, func(t *testing.T) {
			var opts []stackOption
			if store == "ServerStore" {
				opts = append(opts, serverStore(t))
			}
			// No recording of logs, events and reports: the test's own
			// memory is not the middleware's.
			opts = append(opts, withMW(func(c *middleware.Config) {
				c.Logger = slog.New(slog.DiscardHandler)
				c.OnLogout, c.OnLogoutReport = nil, nil
			}))
			s := newStack(t, opts...)
			if code := s.frontchannel(strings.Repeat("s", 1000<<10)); code != http.StatusBadRequest {
				t.Errorf("a 1,000 KB sid: %d, want 400", code)
			}
			if code := s.frontchannel(strings.Repeat("s", session.MaxMatchLen+1)); code != http.StatusBadRequest {
				t.Errorf("a %d-byte sid: %d, want 400", session.MaxMatchLen+1, code)
			}
			// A user's logout, recorded before the flood.
			s.login()
			copied := s.sessionCookies()
			s.follow(s.get(s.logoutRedirect().String()))

			const flood = 12_000
			pad := strings.Repeat("x", session.MaxMatchLen-8)
			before := liveHeap()
			for i := range flood {
				if code := s.frontchannel(pad + strconv.Itoa(10_000_000+i)); code != http.StatusOK {
					t.Fatalf("front-channel request %d: %d", i, code)
				}
			}
			grown := liveHeap() - before
			// The documented bound: 10,000 provider logouts (the default
			// budget) of about 200 bytes plus the issuer and the 255-byte
			// sid each, 5 MB; nothing for a store that only deletes
			// sessions it has.
			limit := int64(6 << 20)
			if store == "ServerStore" {
				limit = 1 << 20
			}
			t.Logf("%d front-channel requests grew the live heap by %.1f MB", flood, float64(grown)/1e6)
			if grown > limit {
				t.Errorf("%d front-channel requests grew the live heap by %d bytes, more than %d", flood, grown, limit)
			}
			assertNoSessionFor(t, "the user's logout after the flood", *s.handler.Load(), s.appURL, copied)
		})
	}
}

// TestBackchannelRefusesLongNames: a signed logout token whose sid is
// longer than a revocation list records is refused with 400, not retried
// forever as a store failure.
func TestBackchannelRefusesLongNames(t *testing.T) {
	s := newStack(t)
	s.login()
	token := s.op.LogoutToken("app", "alice", strings.Repeat("s", session.MaxMatchLen+1), nil)
	if resp := s.postLogoutToken(token); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a %d-byte sid: %d, want 400", session.MaxMatchLen+1, resp.StatusCode)
	}
	if s.loggedOut() {
		t.Error("the refused token ended the session")
	}
}
