package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
)

// replayCopy sends GET /profile to url with only the copied cookies, as
// someone who copied them would, and returns the status and whether the
// answer wrote a session cookie back (which would slide its idle
// timeout).
func replayCopy(t *testing.T, url string, copied []*http.Cookie, isSession func(string) bool) (int, bool) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/profile", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range copied {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wrote := false
	for _, c := range resp.Cookies() {
		wrote = wrote || isSession(c.Name) && c.MaxAge >= 0 && c.Value != ""
	}
	return resp.StatusCode, wrote
}

// withoutProviderLogout is a cookie store that ignores the provider's
// logouts: the provider under test sends a back-channel logout at every
// end-session, which would end the copied cookie's session by its sid and
// hide what the user's own logout does.
type withoutProviderLogout struct{ *session.CookieStore }

func (withoutProviderLogout) EndMatching(context.Context, session.Match) error { return nil }

// TestCopiedCookieAfterLogout: the session cookies, copied out of
// Chromium (through CDP) before the user signs out with the button, open
// nothing after the logout, on this replica and on another one sharing
// the store, with the default cookie store, the cookie store with the
// Redis revocation list, and the Redis server store.
func TestCopiedCookieAfterLogout(t *testing.T) {
	o := op.Shared(t)
	redisFor := func(t *testing.T, cluster bool) (redis.UniversalClient, redisstore.Options) {
		var client redis.UniversalClient
		if cluster {
			client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: peers.RequireRedisCluster(t), ContextTimeoutEnabled: true})
		} else {
			client = redis.NewClient(&redis.Options{Addr: peers.RequireRedis(t), ContextTimeoutEnabled: true})
		}
		t.Cleanup(func() { client.Close() })
		return client, redisstore.Options{Prefix: "endsession-e2e:" + random() + ":", Timeout: 3 * time.Second} // a loaded machine is slow, not down
	}
	serverStore := func(t *testing.T, c redis.UniversalClient, opts redisstore.Options, keys []session.KeyPair) session.Store {
		backend, err := redisstore.NewBackend(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		s, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name    string
		user    string
		cluster bool // Redis Cluster rather than a single server
		// store returns the store of one replica.
		store func(t *testing.T, c redis.UniversalClient, opts redisstore.Options, keys []session.KeyPair) session.Store
	}{
		{"cookie store", "kate", false, func(t *testing.T, _ redis.UniversalClient, _ redisstore.Options, keys []session.KeyPair) session.Store {
			s, err := session.NewCookieStore(session.CookieOptions{Keys: keys})
			if err != nil {
				t.Fatal(err)
			}
			return withoutProviderLogout{s}
		}},
		{"cookie store with the Redis revocation list", "liam", false, func(t *testing.T, c redis.UniversalClient, opts redisstore.Options, keys []session.KeyPair) session.Store {
			revs, err := redisstore.NewRevocations(c, opts)
			if err != nil {
				t.Fatal(err)
			}
			s, err := session.NewCookieStore(session.CookieOptions{Keys: keys, Revocations: revs})
			if err != nil {
				t.Fatal(err)
			}
			return withoutProviderLogout{s}
		}},
		{"Redis store", "mona", false, serverStore},
		{"Redis store on Redis Cluster", "nina", true, serverStore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg middleware.Config
			var client redis.UniversalClient
			var opts redisstore.Options
			shared := c.name != "cookie store" // the default list covers one process
			if shared {
				client, opts = redisFor(t, c.cluster)
			}
			b := browser.New(t)
			a := startApp(t, o, func(mc *middleware.Config) {
				mc.Store = c.store(t, client, opts, mc.Keys)
				cfg = *mc
			})
			// Another replica: its own middleware and store, sharing Redis.
			var other *httptest.Server
			if shared {
				cfg.Store = c.store(t, client, opts, cfg.Keys)
				mw, err := middleware.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				mux := http.NewServeMux()
				mux.Handle("GET /profile", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					d, _ := middleware.SessionFromContext(r.Context())
					w.Write([]byte(d.Subject))
				})))
				other = httptest.NewServer(mw.Handler(mux))
				t.Cleanup(other.Close)
			}

			login(t, b, a, c.user)
			var copied []*http.Cookie
			for _, ck := range b.Cookies(a.URL + "/profile") {
				if a.isSessionCookie(ck.Name) {
					copied = append(copied, &http.Cookie{Name: ck.Name, Value: ck.Value})
				}
			}
			if len(copied) == 0 {
				t.Fatal("no session cookie to copy out of the browser")
			}
			replicas := map[string]string{"this replica": a.URL}
			if other != nil {
				replicas["another replica"] = other.URL
			}
			for where, url := range replicas {
				if status, _ := replayCopy(t, url, copied, a.isSessionCookie); status != http.StatusOK {
					t.Fatalf("%s: the copy before the logout answers %d, want 200", where, status)
				}
			}

			logoutWithButton(t, b, a, o, "")

			for where, url := range replicas {
				status, wrote := replayCopy(t, url, copied, a.isSessionCookie)
				if status != http.StatusSeeOther {
					t.Errorf("%s: the copy after the logout answers %d, want a redirect to login", where, status)
				}
				if wrote {
					t.Errorf("%s: the copy after the logout got its session written back", where)
				}
			}
			if client != nil && !c.cluster {
				n, err := client.Keys(context.Background(), opts.Prefix+"*").Result()
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("Redis keys after the logout: %s", strings.Join(n, " "))
			}
			// The user signs in again at once.
			requireLoginForm(t, b, a, o)
		})
	}
}
