package redisstore_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

func TestBackendTake(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client()
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
}

// Logout reads and deletes the session in one round trip.
func TestLogoutIsOneRoundTrip(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client()
	p := prefix()
	a, _ := redisReplicas(t, c, redisstore.Options{Prefix: p}, session.Lifetime{})
	// The first logout loads the script into Redis (EVALSHA, then EVAL).
	first := storetest.NewBrowser()
	a.login(t, first, "bob", "sid-0")
	a.logout(first)
	browser := storetest.NewBrowser()
	a.login(t, browser, "alice", "sid-1")
	counter := &commandCounter{}
	c.AddHook(counter)
	if rec := a.logout(browser); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", rec.Code, rec.Body)
	}
	if got := counter.names(); len(got) != 1 || got[0] != "evalsha" {
		t.Errorf("logout sent %v to Redis, want one EVALSHA", got)
	}
	if ks := keys(t, c, p); len(ks) != 0 {
		t.Errorf("after logout Redis still holds %v", ks)
	}
	wantUser(t, "after logout", a, browser, "")
}
