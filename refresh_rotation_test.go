package endsession_test

// Refresh with a provider that rotates refresh tokens and revokes the grant
// when a spent one comes back: requests that carry the session from before
// a refresh (parallel requests, another tab, the back button, a retry) get
// the refreshed session and never send the spent token.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// cookieHeader is the Cookie header of the browser's session cookies.
func (s *stack) cookieHeader() string {
	var parts []string
	for _, c := range s.sessionCookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// staleResponse is what one request with a given Cookie header got.
type staleResponse struct {
	status    int
	body      string
	newCookie bool // the response set a session cookie
}

// sendAtOnce sends a GET to each URL at the same moment with exactly the
// Cookie header cookie, outside the browser's jar.
func sendAtOnce(urls []string, cookie string) []staleResponse {
	out := make([]staleResponse, len(urls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Cookie", cookie)
			<-start
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out[i] = staleResponse{status: resp.StatusCode, body: string(b)}
			for _, c := range resp.Cookies() {
				out[i].newCookie = out[i].newCookie || c.Name == "endsession" && c.MaxAge >= 0 && c.Value != ""
			}
		})
	}
	close(start)
	wg.Wait()
	return out
}

func repeat(u string, n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = u
	}
	return urls
}

// rotating is a provider that rotates refresh tokens (devprovider always
// does, and revokes the grant when a spent one is redeemed again), with
// access tokens of a minute.
func rotating(op *devprovider.Config) {
	op.AccessTokenTTL = time.Minute
	op.RefreshTokens = devprovider.RefreshAlways
}

// After a refresh, requests with the cookie from before it get the
// refreshed session and its cookie, without a second refresh; past the
// grace window a spent token is sent, and the provider ends the grant.
func TestStaleCookieAfterRotation(t *testing.T) {
	s := newStack(t, withOP(rotating))
	s.login()
	before := s.cookieHeader()
	s.advance(time.Minute)
	s.op.ResetRequests()
	refreshed := body(s.get("/token"))
	if s.refreshGrants() != 1 {
		t.Fatalf("%d refreshes", s.refreshGrants())
	}
	for i, r := range sendAtOnce(repeat(s.appURL+"/token", 20), before) {
		if r.status != http.StatusOK || r.body != refreshed || !r.newCookie {
			t.Fatalf("stale request %d: %d %q, new cookie %v; want 200 %q with the new cookie", i, r.status, r.body, r.newCookie, refreshed)
		}
	}
	if n := s.refreshGrants(); n != 1 {
		t.Fatalf("requests with the cookie from before the refresh made %d more refreshes", n-1)
	}
	// The grant lives on: the next rotation works from the new cookie.
	s.advance(time.Minute)
	if resp := s.get("/profile"); resp.StatusCode != http.StatusOK || s.refreshGrants() != 2 {
		t.Fatalf("the next rotation: %d, %d refreshes", resp.StatusCode, s.refreshGrants())
	}
	// A minute later the grace window is over: the spent token goes to
	// the provider, which refuses it and revokes the grant.
	r := sendAtOnce([]string{s.appURL + "/profile"}, before)[0]
	if r.status != http.StatusSeeOther || s.refreshGrants() != 3 {
		t.Fatalf("a spent token past the grace window: %d, %d refreshes", r.status, s.refreshGrants())
	}
	s.assertNoLeak(t)
}

// A burst of requests with the same due session makes one refresh, and
// each of them gets the refreshed session, whatever the store.
func TestRefreshBurstMakesOneRefresh(t *testing.T) {
	stores := map[string]func(t *testing.T) session.Store{
		"cookie": func(*testing.T) session.Store { return nil },
		"memory": func(t *testing.T) session.Store {
			backend := session.NewMemoryBackend(session.MemoryOptions{})
			t.Cleanup(func() { backend.Close() })
			store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
			if err != nil {
				t.Fatal(err)
			}
			return store
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			store := newStore(t)
			s := newStack(t, withOP(rotating), withMW(func(c *middleware.Config) { c.Store = store }))
			s.login()
			for round := range 3 {
				s.advance(time.Minute)
				s.op.ResetRequests()
				cookie := s.cookieHeader()
				for i, r := range sendAtOnce(repeat(s.appURL+"/token", 20), cookie) {
					if r.status != http.StatusOK || r.body == "no token" {
						t.Fatalf("round %d, request %d: %d %q", round, i, r.status, r.body)
					}
				}
				if n := s.refreshGrants(); n != 1 {
					t.Fatalf("round %d: 20 requests made %d refreshes", round, n)
				}
				// The browser, which still holds the cookie from before,
				// gets the refreshed session without another refresh.
				if resp := s.get("/token"); resp.StatusCode != http.StatusOK || s.refreshGrants() != 1 {
					t.Fatalf("round %d: after the burst %d, %d refreshes", round, resp.StatusCode, s.refreshGrants())
				}
			}
		})
	}
}

// sharedRefresh is a Locker shared by the replicas of one test that also
// shares the results of refreshes, as redisstore's does through Redis.
type sharedRefresh struct {
	*sharedLocks
	mu   sync.Mutex
	vals map[string][]byte
}

func (l *sharedRefresh) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	return l.lock(ctx, key, ttl)
}

func (l *sharedRefresh) Remember(_ context.Context, key string, value []byte, ttl time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ttl <= 0 || ttl > time.Minute {
		panic("grace window of " + ttl.String())
	}
	l.vals[key] = append([]byte(nil), value...)
	return nil
}

func (l *sharedRefresh) Recall(_ context.Context, key string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.vals[key], nil
}

// Two replicas behind one load balancer, with the cookie store and a
// shared Locker: a burst with the cookie from before a refresh, spread
// over both, makes one refresh, and the results kept for the other
// replica hold no token in the clear.
func TestStaleCookieAcrossReplicas(t *testing.T) {
	shared := &sharedRefresh{sharedLocks: &sharedLocks{held: map[string]chan struct{}{}}, vals: map[string][]byte{}}
	var cfg middleware.Config
	s := newStack(t, withOP(rotating), withMW(func(c *middleware.Config) {
		c.Locker = shared
		cfg = *c
	}))
	second, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	replica := httptest.NewServer(second.Handler(appRoutes(second)))
	t.Cleanup(replica.Close)
	s.login()
	for round := range 3 {
		before := s.cookieHeader()
		s.advance(time.Minute)
		s.op.ResetRequests()
		urls := repeat(s.appURL+"/token", 40)
		for i := 1; i < len(urls); i += 2 {
			urls[i] = replica.URL + "/token"
		}
		var first string
		for i, r := range sendAtOnce(urls, before) {
			if first == "" {
				first = r.body
			}
			if r.status != http.StatusOK || r.body != first || !r.newCookie {
				t.Fatalf("round %d, request %d: %d %q, new cookie %v", round, i, r.status, r.body, r.newCookie)
			}
		}
		if n := s.refreshGrants(); n != 1 {
			t.Fatalf("round %d: two replicas made %d refreshes", round, n)
		}
		if resp := s.get("/token"); resp.StatusCode != http.StatusOK || body(resp) != first {
			t.Fatalf("round %d: the browser after the burst: %d %q", round, resp.StatusCode, body(resp))
		}
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if len(shared.vals) != 3 {
		t.Errorf("%d results shared, want one per refresh", len(shared.vals))
	}
	s.mu.Lock()
	secrets := append([]string(nil), s.secrets...)
	s.mu.Unlock()
	for _, v := range shared.vals {
		for _, secret := range secrets {
			if len(secret) >= 8 && strings.Contains(string(v), secret) {
				t.Fatalf("a shared result holds a secret in the clear (%.12s…)", secret)
			}
		}
	}
}
