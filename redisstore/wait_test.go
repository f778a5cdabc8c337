package redisstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
)

// With WaitReplicas a logout returns once the master's replicas have it,
// and fails when fewer replicas than asked acknowledge it in time.
func TestWaitReplicas(t *testing.T) {
	now := time.Now()
	logouts := func(t *testing.T, c redis.UniversalClient, replicas int) map[string]error {
		opts := redisstore.Options{Prefix: prefix(), Timeout: time.Second, WaitReplicas: replicas}
		b := newBackend(t, c, opts)
		revs, err := redisstore.NewRevocations(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b", "c"} {
			if err := b.Set(ctx, id, []byte("v"), time.Hour, []string{"sub|x"}, false); err != nil {
				t.Fatal(err)
			}
		}
		errs := map[string]error{}
		raw, err := b.Take(ctx, "a")
		if err == nil && string(raw) != "v" {
			t.Errorf("Take = %q", raw)
		}
		errs["Take"] = err
		errs["Delete"] = b.Delete(ctx, "b", "c")
		errs["Revoke"] = revs.Revoke(ctx, session.Match{ID: "a", At: now, Until: now.Add(time.Hour)})
		// The master has the logout whatever WAIT said.
		for _, id := range []string{"a", "b", "c"} {
			if raw, _ := b.Get(ctx, id); raw != nil {
				t.Errorf("session %s survived its logout", id)
			}
		}
		return errs
	}
	t.Run("cluster, one replica each", func(t *testing.T) {
		c := clusterClient(t, sharedCluster(t))
		for name, err := range logouts(t, c, 1) {
			if err != nil {
				t.Errorf("%s waiting for the one replica: %v", name, err)
			}
		}
		for name, err := range logouts(t, c, 2) {
			if !errors.Is(err, session.ErrUnavailable) {
				t.Errorf("%s waiting for two replicas of one = %v, want ErrUnavailable", name, err)
			}
		}
	})
	t.Run("single, no replica", func(t *testing.T) {
		c := startRedis(t).Client()
		for name, err := range logouts(t, c, 1) {
			if !errors.Is(err, session.ErrUnavailable) {
				t.Errorf("%s waiting for a replica = %v, want ErrUnavailable", name, err)
			}
		}
	})
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}, ContextTimeoutEnabled: true})
	defer ring.Close()
	if _, err := redisstore.NewReplayCache(ring, redisstore.Options{WaitReplicas: 1}); err == nil {
		t.Error("a Ring was accepted with WaitReplicas")
	}
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer plain.Close()
	if _, err := redisstore.NewBackend(plain, redisstore.Options{WaitReplicas: -1}); err == nil {
		t.Error("a negative WaitReplicas was accepted")
	}
}
