package endsession_test

// End-to-end tests of refresh: tokens renewed before the application sees
// the request, once per session however many requests come at once.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// refreshGrants counts the refresh_token grants the provider received.
func (s *stack) refreshGrants() int {
	n := 0
	for _, r := range s.op.Requests() {
		if strings.HasSuffix(r.Path, "/token") && r.Form.Get("grant_type") == "refresh_token" {
			n++
		}
	}
	return n
}

func TestRefreshKeepsTheSessionAlive(t *testing.T) {
	s := newStack(t, withOP(func(op *devprovider.Config) {
		op.AccessTokenTTL = 2 * time.Second
		op.RefreshTokens = devprovider.RefreshAlways
	}))
	s.login()
	before := body(s.get("/token"))
	time.Sleep(2100 * time.Millisecond)
	resp := s.get("/token")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the access token expired: %d", resp.StatusCode)
	}
	if body(resp) == before {
		t.Fatal("the application got the old access token")
	}
	if s.refreshGrants() == 0 {
		t.Fatal("the provider saw no refresh_token grant")
	}
	for _, r := range s.op.Requests() {
		if r.Form.Get("grant_type") == "refresh_token" {
			if u, p, ok := (&http.Request{Header: r.Header}).BasicAuth(); !ok || u != "app" || p != "app-secret" {
				t.Errorf("the refresh was not authenticated with client_secret_basic")
			}
		}
	}
	if len(resp.Cookies()) == 0 {
		t.Error("the refreshed session was not written back")
	}
	if s.loggedOut() {
		t.Fatal("logged out after a refresh")
	}
}

// lockCounter is a Locker that counts its locks.
type lockCounter struct {
	mu             sync.Mutex
	locks, unlocks int
	keys           map[string]bool
	ttl            time.Duration
}

func (l *lockCounter) Lock(_ context.Context, key string, ttl time.Duration) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.locks++
	l.keys[key] = true
	l.ttl = ttl
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.unlocks++
	}, nil
}

func TestRefreshStormMakesOneRefresh(t *testing.T) {
	locker := &lockCounter{keys: map[string]bool{}}
	s := newStack(t,
		withOP(func(op *devprovider.Config) {
			op.AccessTokenTTL = time.Second
			op.RefreshTokens = devprovider.RefreshAlways
		}),
		withMW(func(c *middleware.Config) { c.Locker = locker }),
	)
	s.login()
	s.advance(time.Second) // every request finds the token due
	s.op.ResetRequests()
	locker.mu.Lock()
	locker.locks, locker.unlocks = 0, 0
	locker.mu.Unlock()
	// A slow token endpoint keeps the refresh in flight while all the
	// requests come in.
	s.op.Fail(devprovider.Token, devprovider.Fault{Delay: 500 * time.Millisecond})
	const n = 50
	urls := make([]string, n)
	for i := range urls {
		urls[i] = s.appURL + "/profile"
	}
	statuses := s.getAtOnce(urls)
	s.op.Recover(devprovider.Token)
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("request %d: status %d", i, st)
		}
	}
	if got := s.refreshGrants(); got != 1 {
		t.Fatalf("%d concurrent requests made %d refreshes, want 1", n, got)
	}
	if locker.locks != 1 || locker.unlocks != 1 || len(locker.keys) != 1 || locker.ttl <= 0 {
		t.Errorf("locker: %d locks, %d unlocks, %d keys, ttl %s", locker.locks, locker.unlocks, len(locker.keys), locker.ttl)
	}
	for k := range locker.keys {
		if !strings.HasPrefix(k, "endsession:refresh:") {
			t.Errorf("lock key %q", k)
		}
	}
	// The rotated refresh token was kept: the session goes on refreshing.
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the storm: %d", resp.StatusCode)
	}
}

func TestRevokedRefreshTokenEndsTheSession(t *testing.T) {
	s := newStack(t,
		withOP(func(op *devprovider.Config) {
			op.AccessTokenTTL = time.Second
			op.RefreshTokens = devprovider.RefreshAlways
		}),
		// Without offline_access the provider revokes the grant when its
		// session ends.
		withMW(func(c *middleware.Config) { c.Providers[0].Scopes = []string{"openid", "profile", "email"} }),
	)
	s.login()
	s.advance(time.Second)
	if err := s.op.LogoutUser("alice"); err != nil {
		t.Fatal(err)
	}
	resp := s.get("/profile")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
		t.Fatalf("with a revoked refresh token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	expired := false
	for _, c := range resp.Cookies() {
		expired = expired || c.Name == "endsession" && c.MaxAge < 0
	}
	if !expired || len(s.sessionCookies()) != 0 {
		t.Fatal("the ended session's cookie was not expired")
	}
	if !strings.Contains(s.logs.String(), "the provider refused to refresh") {
		t.Error("the ended session was not logged")
	}
}

func TestRefreshWithProviderDownKeepsTheSession(t *testing.T) {
	s := newStack(t, withOP(func(op *devprovider.Config) {
		op.AccessTokenTTL = time.Second
		op.RefreshTokens = devprovider.RefreshAlways
	}))
	s.login()
	s.advance(time.Second)
	s.op.Fail(devprovider.Token, devprovider.Fault{Status: http.StatusServiceUnavailable})
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
		t.Fatalf("with the token endpoint down: %d", resp.StatusCode)
	}
	if !strings.Contains(s.logs.String(), "token refresh failed") {
		t.Error("the failed refresh was not logged")
	}
	s.op.Recover(devprovider.Token)
	time.Sleep(2100 * time.Millisecond) // past the pause after a failure
	s.op.ResetRequests()
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK || s.refreshGrants() != 1 {
		t.Fatalf("after the provider came back: %d, %d refreshes", resp.StatusCode, s.refreshGrants())
	}
}

// sharedLocks is a Locker shared by the replicas of one test, as Redis
// would be by real ones.
type sharedLocks struct {
	mu    sync.Mutex
	held  map[string]chan struct{}
	locks atomic.Int32
}

func (l *sharedLocks) lock(ctx context.Context, key string, _ time.Duration) (func(), error) {
	for {
		l.mu.Lock()
		ch, busy := l.held[key]
		if !busy {
			ch = make(chan struct{})
			l.held[key] = ch
			l.mu.Unlock()
			l.locks.Add(1)
			return func() {
				l.mu.Lock()
				delete(l.held, key)
				l.mu.Unlock()
				close(ch)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Two replicas share a server-side store and a Locker: a storm of
// requests spread over both makes one refresh, the second replica reading
// the session the first refreshed.
func TestRefreshAcrossReplicas(t *testing.T) {
	backend := session.NewMemoryBackend(session.MemoryOptions{})
	t.Cleanup(func() { backend.Close() })
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
	if err != nil {
		t.Fatal(err)
	}
	locks := &sharedLocks{held: map[string]chan struct{}{}}
	// The replicas' clock runs ahead during the storm, so that a token of
	// a minute is due (15 s before its expiry: a quarter of its life)
	// while a freshly refreshed one is not.
	var ahead atomic.Int64
	var cfg middleware.Config
	s := newStack(t,
		withOP(func(op *devprovider.Config) {
			op.AccessTokenTTL = time.Minute
			op.RefreshTokens = devprovider.RefreshAlways
		}),
		withMW(func(c *middleware.Config) {
			c.Store = store
			c.Locker = middleware.LockerFunc(locks.lock)
			c.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
			cfg = *c
		}),
	)
	second, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	replica := httptest.NewServer(second.Handler(appRoutes(second)))
	t.Cleanup(replica.Close)
	s.login()
	time.Sleep(1500 * time.Millisecond)
	ahead.Store(int64(46 * time.Second))
	s.op.ResetRequests()
	s.op.Fail(devprovider.Token, devprovider.Fault{Delay: 300 * time.Millisecond})
	const n = 40
	urls := make([]string, n)
	for i := range urls {
		urls[i] = s.appURL + "/profile"
		if i%2 == 1 {
			urls[i] = replica.URL + "/profile" // same host, another port: the same cookies
		}
	}
	statuses := s.getAtOnce(urls)
	s.op.Recover(devprovider.Token)
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("request %d: status %d", i, st)
		}
	}
	if got := s.refreshGrants(); got != 1 {
		t.Fatalf("two replicas made %d refreshes, want 1", got)
	}
	if got := locks.locks.Load(); got != 2 {
		t.Errorf("%d locks taken, want one per replica", got)
	}
}

// getAtOnce sends a GET to each URL at the same moment, with the stack's
// browser, and returns their statuses (0 for a request that failed).
func (s *stack) getAtOnce(urls []string) []int {
	start := make(chan struct{})
	statuses := make([]int, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			<-start
			resp, err := s.client.Get(u)
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	return statuses
}
