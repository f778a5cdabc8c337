package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

func TestFlightGroupRunsOneCallPerKey(t *testing.T) {
	var g flightGroup[int]
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]int, 20)
	leaders := make([]bool, 20)
	for i := range results {
		wg.Go(func() {
			results[i], leaders[i] = g.do(context.Background(), "k", func() int {
				calls.Add(1)
				<-release
				return 42
			})
		})
	}
	// Let the callers pile up on the first call, then let it finish.
	for {
		g.mu.Lock()
		running := g.calls["k"] != nil
		g.mu.Unlock()
		if running {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	nLeaders := 0
	for i := range results {
		if leaders[i] {
			nLeaders++
		}
		if results[i] != 42 {
			t.Errorf("caller %d got %d", i, results[i])
		}
	}
	if calls.Load() != 1 || nLeaders != 1 {
		t.Fatalf("%d calls, %d leaders; want 1 and 1", calls.Load(), nLeaders)
	}
	if len(g.calls) != 0 {
		t.Fatal("the finished call was not forgotten")
	}
	// Another key, or the same key later, runs again.
	if v, leader := g.do(context.Background(), "k", func() int { return 7 }); v != 7 || !leader {
		t.Fatalf("a later call got %d, leader %v", v, leader)
	}
}

func TestFlightGroupWaiterGivesUp(t *testing.T) {
	var g flightGroup[int]
	release := make(chan struct{})
	started := make(chan struct{})
	go g.do(context.Background(), "k", func() int { close(started); <-release; return 1 })
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v, leader := g.do(ctx, "k", func() int { return 2 }); v != 0 || leader {
		t.Fatalf("a waiter whose request ended got %d, leader %v", v, leader)
	}
	close(release)
}

func TestRefreshDue(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		d    session.Data
		due  bool
	}{
		{"fresh", session.Data{RefreshToken: "r", Expiry: now.Add(time.Hour)}, false},
		{"within the margin", session.Data{RefreshToken: "r", Expiry: now.Add(10 * time.Second)}, true},
		{"an 8 s token, 5 s old", session.Data{RefreshToken: "r", Expiry: now.Add(3 * time.Second), TokenIssued: now.Add(-5 * time.Second)}, false},
		{"an 8 s token, 6 s old", session.Data{RefreshToken: "r", Expiry: now.Add(2 * time.Second), TokenIssued: now.Add(-6 * time.Second)}, true},
		{"a 1 h token, 20 s before expiry", session.Data{RefreshToken: "r", Expiry: now.Add(20 * time.Second), TokenIssued: now.Add(-time.Hour)}, true},
		{"expired", session.Data{RefreshToken: "r", Expiry: now.Add(-time.Minute)}, true},
		{"no refresh token", session.Data{Expiry: now.Add(-time.Minute)}, false},
		{"no expiry", session.Data{RefreshToken: "r"}, false},
	}
	for _, tc := range cases {
		if got := refreshDue(&tc.d, now, 20*time.Second); got != tc.due {
			t.Errorf("%s: due %v, want %v", tc.name, got, tc.due)
		}
	}
	d := session.Data{RefreshToken: "r", Expiry: now.Add(time.Hour)}
	if n := testing.AllocsPerRun(100, func() { refreshDue(&d, now, 20*time.Second) }); n != 0 {
		t.Errorf("refreshDue allocates %v times", n)
	}
}

type fakeLocker struct{ locks atomic.Int32 }

func (l *fakeLocker) Lock(context.Context, string, time.Duration) (func(), error) {
	l.locks.Add(1)
	return func() {}, nil
}

// Nothing due: one clock reading, no write, no provider.
func TestLoadSessionReadsTheClockOnce(t *testing.T) {
	now := time.Now()
	d := &session.Data{ID: "s", Provider: "op", Issuer: "https://op.invalid", RefreshToken: "r",
		Expiry: now.Add(time.Hour), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	store := &fakeStore{records: []*session.Data{d}}
	var clock atomic.Int32
	m := newTestMiddleware(t, store, Config{Now: func() time.Time { clock.Add(1); return now }})
	r, ok := m.loadSession(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if !ok {
		t.Fatal("loadSession failed")
	}
	if _, ok := SessionFromContext(r.Context()); !ok {
		t.Fatal("no session in the context")
	}
	if n := clock.Load(); n != 1 {
		t.Errorf("the clock was read %d times, want 1", n)
	}
	if len(store.saved) != 0 {
		t.Error("a session with nothing due was written")
	}
}

// With a Locker, a replica that waited for the lock finds the session
// refreshed by another one and does not refresh it again.
func TestRefreshUnderLockRereadsTheSession(t *testing.T) {
	now := time.Now()
	stale := &session.Data{ID: "s", Provider: "op", Issuer: "https://op.invalid", RefreshToken: "r1",
		AccessToken: "a1", Expiry: now.Add(-time.Minute), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	fresh := *stale
	fresh.RefreshToken, fresh.AccessToken, fresh.Expiry = "r2", "a2", now.Add(time.Hour)
	store := &fakeStore{records: []*session.Data{stale, &fresh}}
	locker := &fakeLocker{}
	// The provider's issuer does not resolve: any call to it would fail
	// the refresh and leave the stale token in place.
	m := newTestMiddleware(t, store, Config{Locker: locker})
	r, _ := m.loadSession(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	tok, ok := TokenFromContext(r.Context())
	if !ok || tok.AccessToken != "a2" || tok.RefreshToken != "r2" {
		t.Fatalf("token after waiting for the lock: %+v", tok)
	}
	if locker.locks.Load() != 1 || store.loads != 2 {
		t.Errorf("%d locks, %d loads; want 1 and 2", locker.locks.Load(), store.loads)
	}
	if len(store.saved) != 0 {
		t.Error("the session refreshed elsewhere was written again")
	}
}

// A provider that cannot be reached leaves the session as it is, and
// refreshes pause for a moment. A token still valid is handed out; an
// expired one is not.
func TestRefreshFailureKeepsTheSession(t *testing.T) {
	for _, expiry := range []time.Duration{10 * time.Second, -time.Minute} {
		now := time.Now()
		stale := &session.Data{ID: "s", Provider: "op", Issuer: "https://op.invalid", RefreshToken: "r1",
			AccessToken: "a1", Expiry: now.Add(expiry), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
		store := &fakeStore{records: []*session.Data{stale}}
		m := newTestMiddleware(t, store, Config{ProviderTimeout: time.Second,
			HTTPClient: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
				return nil, context.DeadlineExceeded
			})}})
		r, _ := m.loadSession(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		if d, ok := SessionFromContext(r.Context()); !ok || d.AccessToken != "a1" {
			t.Fatalf("session after a failed refresh: %+v", d)
		}
		tok, ok := TokenFromContext(r.Context())
		if expiry > 0 && (!ok || tok.AccessToken != "a1") {
			t.Fatalf("token after a failed refresh: %+v", tok)
		}
		if expiry < 0 && ok {
			t.Fatal("an expired token was handed out")
		}
		if p := m.providers["op"]; p.refreshPausedUntil.Load() <= now.UnixNano() {
			t.Error("refreshes were not paused after the failure")
		}
	}
}
