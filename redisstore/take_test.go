package redisstore_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

func TestBackendTake(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		b := newBackend(t, c, redisstore.Options{Prefix: p})
		if err := b.Set(ctx, "a", []byte("v1\x00\xff"), time.Hour, []string{"sid|x", "sub|x"}, false); err != nil {
			t.Fatal(err)
		}
		if err := b.Set(ctx, "b", []byte("v2"), time.Hour, []string{"sub|x"}, false); err != nil {
			t.Fatal(err)
		}
		if raw, err := b.Take(ctx, "a"); string(raw) != "v1\x00\xff" || err != nil {
			t.Fatalf("Take(a) = %q, %v", raw, err)
		}
		if raw, err := b.Get(ctx, "a"); raw != nil || err != nil {
			t.Errorf("after Take, Get(a) = %q, %v; want nothing", raw, err)
		}
		for key, want := range map[string][]string{"sid|x": {}, "sub|x": {"b"}} {
			got, err := b.Lookup(ctx, key)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("after Take, Lookup(%q) = %v, %v; want %v", key, got, err, want)
			}
		}
		if raw, err := b.Take(ctx, "absent"); raw != nil || err != nil {
			t.Errorf("Take(absent) = %q, %v; want nil, nil", raw, err)
		}
		if err := b.Delete(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("keys left: %v", ks)
		}
	})
}

// Logout reads and deletes the session in one round trip; on a cluster,
// in two: the session's slot, then its index keys' (pipelined).
func TestLogoutIsOneRoundTrip(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		a, _ := redisReplicas(t, c, redisstore.Options{Prefix: p}, session.Lifetime{})
		// The first logout on each node loads the script there (EVALSHA,
		// then EVAL): log out until every master has had one.
		nodes := map[string]bool{}
		for i := 0; len(nodes) < masters(t, c) && i < 500; i++ {
			first := storetest.NewBrowser()
			a.login(t, first, "bob", "sid-0")
			for _, k := range keys(t, c, p+"s:") {
				nodes[nodeOf(t, c, k)] = true
			}
			a.logout(first)
		}
		browser := storetest.NewBrowser()
		a.login(t, browser, "alice", "sid-1")
		counter := &commandCounter{}
		c.AddHook(counter)
		if rec := a.logout(browser); rec.Code != http.StatusSeeOther {
			t.Fatalf("logout: %d %s", rec.Code, rec.Body)
		}
		want := []string{"evalsha"}
		if _, ok := c.(*redis.ClusterClient); ok {
			want = append(want, "pipeline")
		}
		if got := counter.names(); !slices.Equal(got, want) {
			t.Errorf("logout sent %v to Redis, want %v", got, want)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("after logout Redis still holds %v", ks)
		}
		wantUser(t, "after logout", a, browser, "")
	})
}

// masters counts the masters of a cluster: 1 for a single server.
func masters(t *testing.T, c redis.UniversalClient) int {
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return 1
	}
	n := 0
	var mu sync.Mutex
	if err := cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { mu.Lock(); n++; mu.Unlock(); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// nodeOf names the master that holds key ("" for a single server).
func nodeOf(t *testing.T, c redis.UniversalClient, key string) string {
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return ""
	}
	n, err := cc.MasterForKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return n.Options().Addr
}
