package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

var ctx = context.Background()

var prefixes atomic.Int64

// prefix returns a key prefix of its own for each test.
func prefix() string { return "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":" }

func newBackend(t testing.TB, c redis.UniversalClient, opts redisstore.Options) *redisstore.Backend {
	t.Helper()
	b, err := redisstore.NewBackend(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testKeys() []session.KeyPair {
	return []session.KeyPair{{HashKey: bytes.Repeat([]byte{1}, 32), BlockKey: bytes.Repeat([]byte{2}, 32)}}
}

func TestServerStoreConformance(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		storetest.Run(t, storetest.Harness{
			ServerSide: true,
			New: func(t *testing.T, now func() time.Time) session.Store {
				// Redis expires records on its own clock; the store's check of
				// Data.Expires, on the injected clock, is what ends sessions here.
				s, err := session.NewServerStore(session.ServerOptions{
					Backend: newBackend(t, c, redisstore.Options{Prefix: prefix()}), Keys: testKeys(), Now: now,
				})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		})
	})
}

func TestBackend(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		b := newBackend(t, c, redisstore.Options{Prefix: p})

		if raw, err := b.Get(ctx, "absent"); raw != nil || err != nil {
			t.Errorf("Get(absent) = %v, %v; want nil, nil", raw, err)
		}
		if err := b.Set(ctx, "a", []byte("v1"), time.Hour, []string{"sub|z"}, true); !errors.Is(err, session.ErrEnded) {
			t.Errorf("update of an absent record = %v, want ErrEnded", err)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("a refused update wrote %v", ks)
		}
		if err := b.Set(ctx, "a", []byte("v1"), time.Hour, []string{"sid|x", "sub|x"}, false); err != nil {
			t.Fatal(err)
		}
		if err := b.Set(ctx, "b", []byte("v1"), 2*time.Hour, []string{"sub|x"}, false); err != nil {
			t.Fatal(err)
		}
		// Retagging drops the tags a session no longer has, at once on a
		// single server; on a cluster when the session ends.
		if err := b.Set(ctx, "a", []byte("v2"), time.Hour, []string{"sub|x", "sub|y"}, true); err != nil {
			t.Fatal(err)
		}
		if raw, err := b.Get(ctx, "a"); string(raw) != "v2" || err != nil {
			t.Errorf("Get(a) = %q, %v", raw, err)
		}
		dropped := []string{}
		if _, ok := c.(*redis.ClusterClient); ok {
			dropped = []string{"a"}
		}
		for key, want := range map[string][]string{"sid|x": dropped, "sub|x": {"a", "b"}, "sub|y": {"a"}} {
			got, err := b.Lookup(ctx, key)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("Lookup(%q) = %v, %v; want %v", key, got, err, want)
			}
		}
		// Index sets live at least as long as their longest session.
		if ttl := c.PTTL(ctx, p+"i:{sub|x}").Val(); ttl < 2*time.Hour-time.Minute {
			t.Errorf("index TTL %v is shorter than its longest session", ttl)
		}
		if ttl := c.PTTL(ctx, p+"s:{a}").Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("session TTL = %v", ttl)
		}
		if err := b.Delete(ctx, "a", "b", "absent"); err != nil {
			t.Fatal(err)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("after Delete these keys are left: %v", ks)
		}
	})
}

func TestBackendRecordsExpire(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		b := newBackend(t, c, redisstore.Options{Prefix: p})
		if err := b.Set(ctx, "a", []byte("v"), 300*time.Millisecond, []string{"sub|x"}, false); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(keys(t, c, p)) > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("keys left after the TTL: %v", ks)
		}
		if err := b.Set(ctx, "a", []byte("v"), time.Hour, nil, true); !errors.Is(err, session.ErrEnded) {
			t.Errorf("update of an expired record = %v, want ErrEnded", err)
		}
	})
}

func TestRevocations(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		if err := c.Ping(ctx).Err(); err != nil { // the connection handshake is not counted
			t.Fatal(err)
		}
		counter := &commandCounter{}
		c.AddHook(counter)
		clock := storetest.NewClock(time.Now())
		revs, err := redisstore.NewRevocations(c, redisstore.Options{Prefix: prefix(), Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		at := clock.Now()
		alice := storetest.NewData("alice", "sid-1", at.Add(-time.Minute))
		other := storetest.NewData("alice", "sid-2", at.Add(-time.Minute))
		later := storetest.NewData("alice", "sid-1", at.Add(time.Minute))
		bob := storetest.NewData("bob", "sid-3", at.Add(-time.Minute))

		check := func(name string, d *session.Data, want bool) {
			t.Helper()
			counter.reset()
			got, err := revs.Revoked(ctx, d)
			if err != nil || got != want {
				t.Errorf("%s: Revoked = %v, %v; want %v", name, got, err, want)
			}
			if n := counter.count(); n != 1 {
				t.Errorf("%s: Revoked made %d round trips, want 1 (%v)", name, n, counter.names())
			}
		}
		check("nothing revoked", alice, false)
		if err := revs.Revoke(ctx, session.Match{Issuer: storetest.Issuer, SID: "sid-1", At: at, Until: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check("revoked sid", alice, true)
		check("other sid", other, false)
		check("created after the logout", later, false)
		// An older logout of the same sid never shortens the newer one.
		if err := revs.Revoke(ctx, session.Match{Issuer: storetest.Issuer, SID: "sid-1", At: at.Add(-time.Hour), Until: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check("still revoked", alice, true)
		if err := revs.Revoke(ctx, session.Match{Issuer: storetest.Issuer, Subject: "alice", At: at, Until: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		check("revoked subject", other, true)
		check("other subject", bob, false)
		// A match past its Until is not recorded.
		if err := revs.Revoke(ctx, session.Match{Issuer: storetest.Issuer, Subject: "bob", At: at, Until: at.Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		check("lapsed match", bob, false)
		if err := revs.Revoke(ctx, session.Match{Issuer: storetest.Issuer, At: at}); err == nil {
			t.Error("a match without sid or subject was accepted")
		}
	})
}

func TestLocker(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		locks, err := redisstore.NewLocker(c, redisstore.Options{Prefix: prefix()})
		if err != nil {
			t.Fatal(err)
		}
		first, ok, err := locks.TryLock(ctx, "refresh:alice", time.Second)
		if err != nil || !ok {
			t.Fatalf("TryLock = %v, %v", ok, err)
		}
		if _, ok, err := locks.TryLock(ctx, "refresh:alice", time.Second); ok || err != nil {
			t.Errorf("second TryLock = %v, %v; want false, nil", ok, err)
		}
		if _, ok, _ := locks.TryLock(ctx, "refresh:bob", time.Second); !ok {
			t.Error("another name is locked too")
		}
		if err := first.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if err := first.Release(ctx); !errors.Is(err, redisstore.ErrNotHeld) {
			t.Errorf("second Release = %v, want ErrNotHeld", err)
		}

		// A holder whose lock expired never releases the next holder's.
		short, ok, _ := locks.TryLock(ctx, "refresh:carol", 100*time.Millisecond)
		if !ok {
			t.Fatal("TryLock failed")
		}
		time.Sleep(200 * time.Millisecond)
		next, ok, _ := locks.TryLock(ctx, "refresh:carol", time.Second)
		if !ok {
			t.Fatal("an expired lock was not free")
		}
		if err := short.Release(ctx); !errors.Is(err, redisstore.ErrNotHeld) {
			t.Errorf("Release of an expired lock = %v, want ErrNotHeld", err)
		}
		if _, ok, _ := locks.TryLock(ctx, "refresh:carol", time.Second); ok {
			t.Error("the stale holder's Release freed the next holder's lock")
		}
		next.Release(ctx)

		// Lock waits for the holder; only one holder at a time.
		var holders, maxHolders atomic.Int32
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				lk, err := locks.Lock(wctx, "refresh:dave", time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				n := holders.Add(1)
				for m := maxHolders.Load(); n > m && !maxHolders.CompareAndSwap(m, n); m = maxHolders.Load() {
				}
				time.Sleep(10 * time.Millisecond)
				holders.Add(-1)
				if err := lk.Release(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if maxHolders.Load() != 1 {
			t.Errorf("%d holders at once", maxHolders.Load())
		}
		held, _, _ := locks.TryLock(ctx, "refresh:erin", time.Second)
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := locks.Lock(wctx, "refresh:erin", time.Second); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Lock on a held lock = %v, want the context's deadline", err)
		}
		held.Release(ctx)
	})
}

func TestUnavailable(t *testing.T) {
	// A port nobody listens on: every call fails fast and wraps
	// ErrUnavailable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer c.Close()
	b := newBackend(t, c, redisstore.Options{Timeout: 200 * time.Millisecond})
	revs, _ := redisstore.NewRevocations(c, redisstore.Options{})
	locks, _ := redisstore.NewLocker(c, redisstore.Options{})
	calls := map[string]func() error{
		"Get":     func() error { _, err := b.Get(ctx, "a"); return err },
		"Set":     func() error { return b.Set(ctx, "a", []byte("v"), time.Hour, []string{"k"}, false) },
		"Delete":  func() error { return b.Delete(ctx, "a") },
		"Lookup":  func() error { _, err := b.Lookup(ctx, "k"); return err },
		"Revoke":  func() error { return revs.Revoke(ctx, session.Match{Issuer: "i", SID: "s", At: time.Now()}) },
		"Revoked": func() error { _, err := revs.Revoked(ctx, &session.Data{Issuer: "i", SID: "s"}); return err },
		"TryLock": func() error { _, _, err := locks.TryLock(ctx, "n", time.Second); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, session.ErrUnavailable) {
			t.Errorf("%s = %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s took %v", name, d)
		}
	}
}

func TestOptions(t *testing.T) {
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer plain.Close()
	if _, err := redisstore.NewBackend(plain, redisstore.Options{}); err == nil {
		t.Error("NewBackend accepted a client whose network calls ignore the timeout")
	}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}, ContextTimeoutEnabled: true})
	defer cluster.Close()
	if _, err := redisstore.NewBackend(cluster, redisstore.Options{}); err != nil {
		t.Errorf("NewBackend refused a cluster client: %v", err)
	}
	if _, err := redisstore.NewRevocations(cluster, redisstore.Options{}); err != nil {
		t.Errorf("NewRevocations refused a cluster client: %v", err)
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}, ContextTimeoutEnabled: true})
	defer ring.Close()
	if _, err := redisstore.NewBackend(ring, redisstore.Options{}); err == nil {
		t.Error("NewBackend accepted a sharded Ring")
	}
	if _, err := redisstore.NewLocker(ring, redisstore.Options{}); err != nil {
		t.Errorf("NewLocker refused a Ring: %v", err)
	}
	if _, err := redisstore.NewBackend(cluster, redisstore.Options{Prefix: "app{1}:"}); err == nil {
		t.Error("NewBackend accepted a prefix with a hash tag")
	}
	if _, err := redisstore.NewBackend(nil, redisstore.Options{}); err == nil {
		t.Error("NewBackend accepted no client")
	}
}

// commandCounter counts the round trips a client makes.
type commandCounter struct {
	mu   sync.Mutex
	cmds []string
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.mu.Lock()
		c.cmds = append(c.cmds, cmd.Name())
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		c.cmds = append(c.cmds, "pipeline")
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}
func (c *commandCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmds = nil
}
func (c *commandCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cmds)
}
func (c *commandCounter) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.cmds)
}

func TestRefreshLockerHoldsUntilUnlocked(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		locks, err := redisstore.NewLocker(c, redisstore.Options{Prefix: prefix()})
		if err != nil {
			t.Fatal(err)
		}
		l := locks.RefreshLocker()
		unlock, err := l.Lock(ctx, "refresh:erin", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := locks.TryLock(ctx, "refresh:erin", time.Second); ok {
			t.Fatal("the refresh lock is not held")
		}
		wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := l.Lock(wctx, "refresh:erin", time.Second); err == nil {
			t.Fatal("a second holder got the refresh lock")
		}
		unlock()
		if lk, ok, _ := locks.TryLock(ctx, "refresh:erin", time.Second); !ok {
			t.Fatal("unlock did not free the lock")
		} else {
			lk.Release(ctx)
		}
	})
}

// The refresh locker keeps the results of refreshes for the other
// replicas, for the TTL asked.
func TestRefreshLockerSharesResults(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		locks, err := redisstore.NewLocker(c, redisstore.Options{Prefix: prefix()})
		if err != nil {
			t.Fatal(err)
		}
		results, ok := locks.RefreshLocker().(middleware.RefreshResults)
		if !ok {
			t.Fatal("the refresh locker shares no results")
		}
		if v, err := results.Recall(ctx, "k1"); v != nil || err != nil {
			t.Fatalf("a result never kept: %q, %v", v, err)
		}
		if err := results.Remember(ctx, "k1", []byte("sealed"), 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if v, err := results.Recall(ctx, "k1"); string(v) != "sealed" || err != nil {
			t.Fatalf("recalled %q, %v", v, err)
		}
		time.Sleep(400 * time.Millisecond)
		if v, err := results.Recall(ctx, "k1"); v != nil || err != nil {
			t.Fatalf("a result past its TTL: %q, %v", v, err)
		}
		// The results of one session go at once when it ends; another's stay.
		forget, ok := results.(middleware.RefreshForgetter)
		if !ok {
			t.Fatal("the refresh locker cannot forget a session's results")
		}
		for _, k := range []string{"s1.t1", "s1.t2", "s2.t1"} {
			if err := results.Remember(ctx, k, []byte("sealed "+k), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if err := forget.Forget(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]string{"s1.t1": "", "s1.t2": "", "s2.t1": "sealed s2.t1"} {
			if v, err := results.Recall(ctx, k); string(v) != want || err != nil {
				t.Errorf("after forgetting s1, %s holds %q (%v), want %q", k, v, err, want)
			}
		}
	})
}

func TestRefreshLockerRedisDown(t *testing.T) {
	srv := startRedis(t)
	locks, err := redisstore.NewLocker(srv.Client(), redisstore.Options{Prefix: prefix()})
	if err != nil {
		t.Fatal(err)
	}
	results := locks.RefreshLocker().(middleware.RefreshResults)
	srv.Stop()
	if _, err := results.Recall(ctx, "k1"); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("with Redis down: %v", err)
	}
}
