package endsession_test

// Logout with every store: a copy of the session cookie taken before the
// logout opens nothing after it, on this replica and on another one, and
// a store that fails during logout leaves nothing usable.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// replay sends a GET of path to h with only the given cookies, as a
// client that copied them would, and returns the answer.
func replay(h http.Handler, appURL, path string, cookies []*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, appURL+path, nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// assertNoSessionFor fails unless the copied cookies open no session on h:
// a redirect to login, and no session cookie written (which would slide
// the idle timeout).
func assertNoSessionFor(t *testing.T, where string, h http.Handler, appURL string, cookies []*http.Cookie) {
	t.Helper()
	rec := replay(h, appURL, "/profile", cookies)
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "/auth/login") {
		t.Errorf("%s: the copied cookie answers %d %q, want a redirect to login", where, rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, "endsession") && c.MaxAge >= 0 && c.Value != "" {
			t.Errorf("%s: the copied cookie got cookie %s written back", where, c.Name)
		}
	}
}

func TestCopiedCookieAfterLogout(t *testing.T) {
	cases := []struct {
		name string
		// store returns the store the replicas share, nil for the default.
		store func(t *testing.T) session.Store
	}{
		{"CookieStore default", func(*testing.T) session.Store { return nil }},
		{"CookieStore with a shared revocation list", func(t *testing.T) session.Store {
			s, err := session.NewCookieStore(session.CookieOptions{
				Keys: testKeys, Name: "endsession",
				Revocations: session.NewMemoryRevocations(session.RevocationLimits{}),
			})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"ServerStore+MemoryBackend", func(t *testing.T) session.Store {
			backend := session.NewMemoryBackend(session.MemoryOptions{})
			t.Cleanup(func() { backend.Close() })
			s, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shared := c.store(t)
			s := newStack(t, withMW(func(mc *middleware.Config) { mc.Store = shared }))
			s.login()
			copied := s.sessionCookies()
			// The copy works before the logout, on this replica and on
			// another one sharing the store.
			other, err := middleware.New(s.mwCfg)
			if err != nil {
				t.Fatal(err)
			}
			otherApp := other.Handler(appRoutes(other))
			if rec := replay(*s.handler.Load(), s.appURL, "/profile", copied); rec.Code != http.StatusOK {
				t.Fatalf("the copy before logout: %d", rec.Code)
			}
			if shared != nil {
				if rec := replay(otherApp, s.appURL, "/profile", copied); rec.Code != http.StatusOK {
					t.Fatalf("the copy before logout, on another replica: %d", rec.Code)
				}
			}
			end := s.logoutRedirect()
			s.follow(s.get(end.String()))

			assertNoSessionFor(t, "this replica", *s.handler.Load(), s.appURL, copied)
			s.advance(2 * time.Minute) // past a touch of the idle timeout, before a refresh
			assertNoSessionFor(t, "this replica, later", *s.handler.Load(), s.appURL, copied)
			if shared != nil {
				assertNoSessionFor(t, "another replica", otherApp, s.appURL, copied)
			}
			// A new login works at once.
			s.login()
		})
	}
}

// switchable is a session backend that fails on demand: every call
// (down), or only deletions.
type switchable struct {
	session.Backend
	down, deleteFails atomic.Bool
}

var errBackendDown = errors.New("connection refused")

func (b *switchable) Get(ctx context.Context, id string) ([]byte, error) {
	if b.down.Load() {
		return nil, errBackendDown
	}
	return b.Backend.Get(ctx, id)
}

func (b *switchable) Delete(ctx context.Context, ids ...string) error {
	if b.down.Load() || b.deleteFails.Load() {
		return errBackendDown
	}
	return b.Backend.Delete(ctx, ids...)
}

// TestStoreDownAtLogout: a logout whose store cannot delete the session
// keeps the session cookie, so that signing out again deletes it once
// the store is back; the user is told they are still signed in, and the
// audit record says the deletion failed.
func TestStoreDownAtLogout(t *testing.T) {
	for _, fault := range []string{"backend down", "delete fails"} {
		t.Run(fault, func(t *testing.T) {
			memory := session.NewMemoryBackend(session.MemoryOptions{})
			t.Cleanup(func() { memory.Close() })
			backend := &switchable{Backend: memory}
			store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
			if err != nil {
				t.Fatal(err)
			}
			s := newStack(t, withMW(func(c *middleware.Config) { c.Store = store }))
			s.login()
			copied := s.sessionCookies()
			if fault == "backend down" {
				backend.down.Store(true)
			} else {
				backend.deleteFails.Store(true)
			}
			resp := s.postLogout(s.appURL)
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body(resp), "still signed in") {
				t.Errorf("logout with the store failing: %d %q, want 503 saying the user is still signed in", resp.StatusCode, body(resp))
			}
			for _, c := range resp.Cookies() {
				if c.Name == "endsession" && c.MaxAge < 0 {
					t.Error("the session cookie was expired although the session was not deleted")
				}
			}
			s.mu.Lock()
			rep := s.reports[len(s.reports)-1]
			erased := len(s.erased)
			s.mu.Unlock()
			var steps []string
			for _, st := range rep.Steps {
				steps = append(steps, st.Name)
				if st.Name == "session.delete" && st.OK {
					t.Errorf("the report says session.delete ok: %s", st.Detail)
				}
				if strings.HasPrefix(st.Name, "provider.") {
					t.Errorf("the provider was asked (%s) although the local session survives", st.Name)
				}
			}
			if !strings.Contains(strings.Join(steps, ","), "session.delete") {
				t.Errorf("the report has no session.delete step: %v", steps)
			}
			if erased != 0 {
				t.Error("OnLogout ran although the session survives")
			}

			// The store is back: signing out again completes, and the
			// copy opens nothing.
			backend.down.Store(false)
			backend.deleteFails.Store(false)
			end := s.logoutRedirect()
			s.follow(s.get(end.String()))
			assertNoSessionFor(t, "after the retry", *s.handler.Load(), s.appURL, copied)
			if n := memory.Len(); n != 0 {
				t.Errorf("%d records left after the retry", n)
			}
		})
	}
}
