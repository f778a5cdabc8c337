package session_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

var ctx = context.Background()

func put(t *testing.T, b *session.MemoryBackend, id string, ttl time.Duration, index ...string) {
	t.Helper()
	if err := b.SetData(ctx, id, &session.Data{ID: id}, ttl, index, false); err != nil {
		t.Fatalf("SetData(%s): %v", id, err)
	}
}

func has(b *session.MemoryBackend, id string) bool {
	d, err := b.GetData(ctx, id)
	return err == nil && d != nil
}

func lookup(t *testing.T, b *session.MemoryBackend, key string) []string {
	t.Helper()
	ids, err := b.Lookup(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func TestMemoryBackendEvictsSoonestToExpire(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	b := session.NewMemoryBackend(session.MemoryOptions{MaxEntries: 3, SweepInterval: -1, Now: clock.Now})
	defer b.Close()
	put(t, b, "long", 3*time.Hour, "k")
	put(t, b, "short", time.Hour, "k")
	put(t, b, "mid", 2*time.Hour, "k")
	put(t, b, "new", 30*time.Minute, "k")
	if b.Len() != 3 {
		t.Errorf("Len = %d, want 3", b.Len())
	}
	if has(b, "short") {
		t.Error("the session expiring soonest was not evicted")
	}
	for _, id := range []string{"long", "mid", "new"} {
		if !has(b, id) {
			t.Errorf("%s was evicted", id)
		}
	}
	if got := lookup(t, b, "k"); !slices.Equal(got, []string{"long", "mid", "new"}) {
		t.Errorf("index after eviction = %v", got)
	}
	// Replacing an existing session never evicts.
	put(t, b, "long", 4*time.Hour, "k")
	if b.Len() != 3 || !has(b, "new") {
		t.Error("replacing a session evicted another")
	}
}

func TestMemoryBackendExpiry(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	b := session.NewMemoryBackend(session.MemoryOptions{SweepInterval: -1, Now: clock.Now})
	defer b.Close()
	put(t, b, "a", time.Minute, "k")
	put(t, b, "b", time.Hour, "k")
	clock.Advance(time.Minute)
	if has(b, "a") {
		t.Error("expired session still returned")
	}
	if raw, err := b.Get(ctx, "a"); raw != nil || err != nil {
		t.Errorf("Get of an expired session = %v, %v", raw, err)
	}
	if err := b.SetData(ctx, "a", &session.Data{ID: "a"}, time.Hour, nil, true); !errors.Is(err, session.ErrEnded) {
		t.Errorf("updating an expired session = %v, want ErrEnded", err)
	}
	if b.Len() != 1 {
		t.Errorf("Len = %d; the expired session found by the update should be gone", b.Len())
	}
	put(t, b, "c", time.Minute)
	clock.Advance(time.Minute)
	b.Sweep()
	if b.Len() != 1 || !has(b, "b") {
		t.Errorf("after Sweep: Len = %d, want only b", b.Len())
	}
	if got := lookup(t, b, "k"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("index after expiry = %v", got)
	}
}

func TestMemoryBackendSweepStopsOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := session.NewMemoryBackend(session.MemoryOptions{SweepInterval: time.Minute})
		put(t, b, "a", 30*time.Second, "k")
		put(t, b, "b", 90*time.Second, "k")
		time.Sleep(time.Minute + time.Millisecond)
		synctest.Wait()
		if b.Len() != 1 {
			t.Errorf("after one sweep Len = %d, want 1", b.Len())
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if b.Len() != 0 {
			t.Errorf("after two sweeps Len = %d, want 0", b.Len())
		}
		b.Close()
		b.Close() // idempotent
		// synctest.Test fails if the sweep goroutine outlives Close.
		put(t, b, "c", time.Minute)
		if !has(b, "c") {
			t.Error("the backend stopped working after Close")
		}
	})
}

func TestMemoryBackendSetModes(t *testing.T) {
	b := session.NewMemoryBackend(session.MemoryOptions{SweepInterval: -1})
	defer b.Close()
	if err := b.SetData(ctx, "a", &session.Data{ID: "a"}, time.Hour, nil, true); !errors.Is(err, session.ErrEnded) {
		t.Errorf("update of an absent session = %v, want ErrEnded", err)
	}
	if b.Len() != 0 {
		t.Error("a failed update stored something")
	}
	if err := b.SetData(ctx, "a", &session.Data{ID: "a"}, 0, nil, false); err == nil {
		t.Error("a zero TTL was accepted")
	}
	put(t, b, "a", time.Hour, "sid|x", "sub|x")
	if err := b.SetData(ctx, "a", &session.Data{ID: "a", Name: "v2"}, time.Hour, []string{"sub|x", "sub|y"}, true); err != nil {
		t.Fatal(err)
	}
	if d, _ := b.GetData(ctx, "a"); d == nil || d.Name != "v2" {
		t.Errorf("update not stored: %+v", d)
	}
	for key, want := range map[string][]string{"sid|x": nil, "sub|x": {"a"}, "sub|y": {"a"}} {
		if got := lookup(t, b, key); !slices.Equal(got, want) {
			t.Errorf("Lookup(%q) = %v, want %v", key, got, want)
		}
	}
	if err := b.Delete(ctx, "a", "absent"); err != nil {
		t.Fatal(err)
	}
	if has(b, "a") || len(lookup(t, b, "sub|x")) != 0 {
		t.Error("Delete left the session or its index tags")
	}
}

func TestMemoryBackendEncodedRecords(t *testing.T) {
	b := session.NewMemoryBackend(session.MemoryOptions{SweepInterval: -1})
	defer b.Close()
	d := storetest.NewData("alice", "sid-1", time.Now())
	d.ID = "abc"
	raw, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, "abc", raw, time.Hour, nil, false); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, "abc")
	if err != nil || string(got) != string(raw) {
		t.Errorf("Get = %x, %v; want %x", got, err, raw)
	}
	if err := b.Set(ctx, "bad", []byte("not a session"), time.Hour, nil, false); err == nil {
		t.Error("Set accepted a record that is not a session")
	}
}

func TestMemoryBackendConcurrent(t *testing.T) {
	b := session.NewMemoryBackend(session.MemoryOptions{MaxEntries: 64, SweepInterval: time.Millisecond})
	defer b.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("s%d-%d", g, i%40)
				key := fmt.Sprintf("sub|%d", i%5)
				switch i % 6 {
				case 0, 1:
					b.SetData(ctx, id, &session.Data{ID: id}, time.Duration(1+i%3)*time.Millisecond, []string{key}, false)
				case 2:
					b.SetData(ctx, id, &session.Data{ID: id}, time.Second, []string{key}, true)
				case 3:
					b.GetData(ctx, id)
				case 4:
					ids, _ := b.Lookup(ctx, key)
					b.Delete(ctx, ids...)
				case 5:
					b.Sweep()
				}
			}
		})
	}
	wg.Wait()
	if n := b.Len(); n > 64 {
		t.Errorf("Len = %d, over MaxEntries", n)
	}
}
