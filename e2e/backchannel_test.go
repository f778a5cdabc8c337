package e2e_test

import (
	"context"
	"net/http"
	"sync/atomic"
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

// TestBackchannelLogout is scenario 5: the user's provider session ends
// elsewhere (o.Logout, as from another device); the provider posts a logout
// token to the app's /auth/backchannel-logout, and the app's next request
// from the user's browser, which still holds its session cookie, is logged
// out. With the default cookie store (and its revocation list) and with a
// server-side store in Redis.
func TestBackchannelLogout(t *testing.T) {
	o := op.Shared(t)
	cases := []struct {
		name string
		// setup configures the app's store and returns a count of the
		// session records it keeps on the server (nil for none).
		setup func(t *testing.T, cfg *middleware.Config) func() int
	}{
		{"cookie store", func(*testing.T, *middleware.Config) func() int { return nil }},
		{"Redis store", func(t *testing.T, cfg *middleware.Config) func() int {
			return redisBackchannel(t, cfg, redis.NewClient(&redis.Options{Addr: peers.RequireRedis(t), ContextTimeoutEnabled: true}))
		}},
		{"Redis store on Redis Cluster", func(t *testing.T, cfg *middleware.Config) func() int {
			return redisBackchannel(t, cfg, redis.NewClusterClient(&redis.ClusterOptions{Addrs: peers.RequireRedisCluster(t), ContextTimeoutEnabled: true}))
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user := []string{"ivan", "judy", "kent"}[i]
			b := browser.New(t)
			var records func() int
			a := startApp(t, o, func(cfg *middleware.Config) { records = c.setup(t, cfg) })
			d := login(t, b, a, user)
			if records != nil {
				if n := records(); n != 1 {
					t.Fatalf("%d session records in Redis after login, want 1", n)
				}
			}

			mark := o.Mark(t)
			a.ResetResponses()
			got := o.Logout(t, user)
			delivered := false
			for _, bc := range got.Backchannel {
				if bc.ClientID == op.ConfidentialClientID {
					if !bc.OK || bc.SID != d.SID {
						t.Errorf("back-channel logout to the app: %+v, want ok for sid %q", bc, d.SID)
					}
					delivered = true
				}
			}
			if got.Sessions < 1 || !delivered {
				t.Fatalf("the provider ended %d sessions and notified %+v", got.Sessions, got.Backchannel)
			}
			o.WaitEvent(t, mark, "backchannel.success", func(e op.Event) bool {
				return e.Str("client_id") == op.ConfidentialClientID && e.Str("sid") == d.SID
			})
			if resp := a.Response(http.MethodPost, op.BackchannelLogoutPath); resp.Status != http.StatusOK {
				t.Errorf("the app answered the logout token with %s", resp)
			}
			if records != nil {
				if n := records(); n != 0 {
					t.Errorf("%d session records in Redis after the back-channel logout, want 0", n)
				}
			}
			// The application's erasure hook ran for it: with the Redis
			// store, with the session's data; with the cookie store, with
			// the provider's sid.
			erased := false
			for _, e := range a.Ended() {
				erased = erased || e.Reason == middleware.ReasonBackchannel && e.SID == d.SID &&
					(records == nil || e.Session != nil && e.Session.ID == d.ID)
			}
			if !erased {
				t.Errorf("OnLogout did not run for the back-channel logout: %+v", a.Ended())
			}

			// The browser still holds the session cookie; the app refuses it.
			if names := sessionCookieNames(b, a); len(names) == 0 {
				t.Fatal("the browser lost its session cookie: the test would prove nothing")
			}
			requireLoginForm(t, b, a, o)
			if resp := a.Responses(http.MethodGet, "/profile"); len(resp) != 1 || resp[0].Status != http.StatusSeeOther {
				t.Errorf("the next request after the back-channel logout: %v, want a 303 to login", resp)
			}
			// No refresh could have ended the session instead.
			for _, e := range o.Events(t, mark, "") {
				if n := e.Name(); n == "grant.success" || n == "grant.error" {
					t.Errorf("unexpected %s", e)
				}
			}
		})
	}
}

// redisBackchannel configures cfg's store and replay cache in Redis through
// client, and returns a count of the session records there.
func redisBackchannel(t *testing.T, cfg *middleware.Config, client redis.UniversalClient) func() int {
	t.Cleanup(func() { client.Close() })
	opts := redisstore.Options{Prefix: "endsession-e2e:" + random() + ":", Timeout: 3 * time.Second} // a loaded machine is slow, not down
	backend, err := redisstore.NewBackend(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	replay, err := redisstore.NewReplayCache(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, err = session.NewServerStore(session.ServerOptions{Backend: backend, Keys: cfg.Keys})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ReplayCache = replay
	return func() int {
		count := func(ctx context.Context, c redis.Cmdable) (int, error) {
			keys, err := c.Keys(ctx, opts.Prefix+"s:*").Result()
			return len(keys), err
		}
		cc, ok := client.(*redis.ClusterClient)
		if !ok {
			n, err := count(context.Background(), client)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		var total atomic.Int64
		if err := cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
			n, err := count(ctx, c)
			total.Add(int64(n))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return int(total.Load())
	}
}
