package e2e_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
)

// TestRefreshRotation: a provider that rotates refresh tokens and revokes
// the grant when a spent one comes back (oidc-provider, 3 s access tokens),
// its public client with offline_access and its confidential client, the
// cookie, in-memory and Redis stores, on one replica and on two sharing
// Redis. Through several lifetimes of the access token, at each expiry
// two Chromium tabs and a burst of requests with the cookie from before
// the refresh come at once; then a stale cookie comes after the refresh.
// Every request keeps the session, and the provider's log shows each
// refresh token redeemed once and no invalid_grant.
func TestRefreshRotation(t *testing.T) {
	cases := []struct {
		name     string
		public   bool
		store    string // cookie, memory or redis
		replicas int
	}{
		{"public client, cookie store", true, "cookie", 1},
		{"confidential client, cookie store", false, "cookie", 1},
		{"confidential client, memory store", false, "memory", 1},
		{"public client, Redis store", true, "redis", 1},
		{"confidential client, cookie store, two replicas", false, "cookie", 2},
		{"public client, Redis store, two replicas", true, "redis", 2},
	}
	app1, app2 := "http://"+peers.AppAddr(t), "http://"+peers.App2Addr(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := op.Start(t, op.Config{AppURLs: []string{app1, app2}, AccessTokenTTL: 3 * time.Second})
			keys := []session.KeyPair{{HashKey: randomBytes(32), BlockKey: randomBytes(32)}}
			var client *redis.Client
			prefix := "endsession-e2e:" + random() + ":"
			if tc.store == "redis" || tc.replicas > 1 {
				client = redis.NewClient(&redis.Options{Addr: peers.RequireRedis(t), ContextTimeoutEnabled: true})
				t.Cleanup(func() { client.Close() })
			}
			memory := session.NewMemoryBackend(session.MemoryOptions{})
			t.Cleanup(func() { memory.Close() })
			// Each replica builds its own store and Locker, on the same
			// Redis and with the same keys.
			setup := func(cfg *middleware.Config) {
				cfg.Keys = keys
				if tc.public {
					cfg.Providers[0].ClientID, cfg.Providers[0].ClientSecret = op.PublicClientID, ""
					cfg.Providers[0].AuthMethod = providers.AuthNone
					cfg.Providers[0].Scopes = []string{"openid", "profile", "email", "offline_access"}
					// OpenID Connect Core §11: offline_access with
					// prompt=consent, which oidc-provider requires.
					cfg.Providers[0].AuthParams = url.Values{"prompt": {"consent"}}
				}
				// Redis is not under test here: a generous timeout keeps a loaded
				// machine from turning a slow call into a 503.
				opts := redisstore.Options{Prefix: prefix, Timeout: 3 * time.Second}
				switch tc.store {
				case "memory":
					cfg.Store = serverStore(t, memory, keys)
				case "redis":
					backend, err := redisstore.NewBackend(client, opts)
					if err != nil {
						t.Fatal(err)
					}
					cfg.Store = serverStore(t, backend, keys)
				}
				if client != nil {
					locks, err := redisstore.NewLocker(client, opts)
					if err != nil {
						t.Fatal(err)
					}
					cfg.Locker = locks.RefreshLocker()
				}
			}
			apps := []*app{startApp(t, o, setup)}
			if tc.replicas > 1 {
				apps = append(apps, startAppAt(t, o, peers.App2Addr(t), setup))
			}
			a := apps[0]
			b := browser.New(t)
			first := login(t, b, a, "gina")
			if first.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			tab := b.NewTab()
			mark := o.Mark(t)
			expiry := first.Expiry
			const rounds = 3
			for round := range rounds {
				time.Sleep(time.Until(expiry) + 200*time.Millisecond)
				stale := sessionCookieHeader(b, a)
				// Two tabs, each on a replica, and a burst of requests with
				// the same cookie, spread over the replicas, all at once.
				var wg sync.WaitGroup
				var tabs [2]string
				for i, tb := range []*browser.Browser{b, tab} {
					wg.Go(func() {
						tb.Navigate(apps[i%len(apps)].URL + "/api")
						tabs[i] = tb.Text("#api-status") + " " + tb.Text("#api-sub")
					})
				}
				burst := make([]string, 12)
				for i := range burst {
					wg.Go(func() { burst[i] = getWithCookie(apps[i%len(apps)].URL+"/api", stale) })
				}
				wg.Wait()
				for i, got := range tabs {
					if got != "200 gina" {
						t.Fatalf("round %d, tab %d: the API call answered %q, want 200 for gina", round, i, got)
					}
				}
				for i, got := range burst {
					if !strings.Contains(got, `<p id="api-status">200</p><p id="api-sub">gina</p>`) {
						t.Fatalf("round %d, request %d with the cookie from before the refresh: %q", round, i, got)
					}
				}
				// The same cookie once more, after the refresh: the
				// refreshed session still.
				if got := getWithCookie(apps[len(apps)-1].URL+"/api", stale); !strings.Contains(got, `<p id="api-status">200</p>`) {
					t.Fatalf("round %d, the cookie from before the refresh sent after it: %q", round, got)
				}
				now := a.LastSession()
				if now.ID != first.ID || !now.Expiry.After(expiry) {
					t.Fatalf("round %d: session %q expiring %v, want %q after %v", round, now.ID, now.Expiry, first.ID, expiry)
				}
				expiry = now.Expiry
			}
			// The provider's log: the refresh tokens each redeemed once,
			// at least once per lifetime, and never refused.
			time.Sleep(300 * time.Millisecond) // the last events
			seen := map[string]bool{}
			for _, e := range o.Events(t, mark, "grant.success") {
				if e.Str("grant_type") != "refresh_token" {
					t.Errorf("a %s grant during the test", e.Str("grant_type"))
					continue
				}
				if h := e.Str("refresh_token_hash"); seen[h] {
					t.Errorf("refresh token %s redeemed twice", h)
				} else {
					seen[h] = true
				}
			}
			if len(seen) < rounds || len(seen) > 2*rounds {
				t.Errorf("%d refreshes in %d lifetimes of the access token", len(seen), rounds)
			}
			for _, name := range []string{"grant.error", "grant.revoked", "interaction.started"} {
				if evs := o.Events(t, mark, name); len(evs) > 0 {
					t.Errorf("%s at the provider: %v", name, evs)
				}
			}
		})
	}
}

// serverStore is a server-side store on backend, under keys.
func serverStore(t *testing.T, backend session.Backend, keys []session.KeyPair) session.Store {
	t.Helper()
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// sessionCookieHeader is a Cookie header with the session cookies that b
// holds for a.
func sessionCookieHeader(b *browser.Browser, a *app) string {
	var parts []string
	for _, c := range b.Cookies(a.URL) {
		if a.isSessionCookie(c.Name) {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// getWithCookie GETs u with exactly the Cookie header cookie, outside the
// browser, and returns the status and the body.
func getWithCookie(u, cookie string) string {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.Status + " " + string(body)
}
