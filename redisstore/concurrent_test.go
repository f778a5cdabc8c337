package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// Ending every session of a user while its sessions are saved and new ones
// created, on a single server and across a cluster's slots: every session
// that the logout selects is gone and stays gone (a save after the end is
// refused), every session created after the logout's time is kept, and
// every live session is still found through its index keys.
func TestEndMatchingUnderConcurrency(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		b := newBackend(t, c, redisstore.Options{Prefix: p})
		store, err := session.NewServerStore(session.ServerOptions{Backend: b, Keys: testKeys()})
		if err != nil {
			t.Fatal(err)
		}
		index := func(d *session.Data) []string {
			return []string{"sid|" + d.Issuer + "|" + d.SID, "sub|" + d.Issuer + "|" + d.Subject}
		}
		save := func(d *session.Data, update bool) error {
			raw, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			return b.Set(ctx, d.ID, raw, time.Hour, index(d), update)
		}
		before := time.Now().Add(-time.Minute).Truncate(time.Second)
		at := before.Add(30 * time.Second)
		after := at.Add(time.Second)
		const n = 20
		var old []*session.Data
		for i := range n {
			d := storetest.NewData("alice", "sid-old-"+strconv.Itoa(i), before)
			d.ID = p + "old" + strconv.Itoa(i)
			if err := save(d, false); err != nil {
				t.Fatal(err)
			}
			old = append(old, d)
		}

		var wg sync.WaitGroup
		start := make(chan struct{})
		// Requests of the old sessions keep saving them.
		for _, d := range old {
			wg.Go(func() {
				<-start
				for range 10 {
					if err := save(d, true); err != nil && !errors.Is(err, session.ErrEnded) {
						t.Error(err)
						return
					}
				}
			})
		}
		// New logins of the same user, after the logout's time.
		var created []*session.Data
		var mu sync.Mutex
		for w := range 4 {
			wg.Go(func() {
				<-start
				for i := range 5 {
					d := storetest.NewData("alice", "sid-new-"+strconv.Itoa(w)+"-"+strconv.Itoa(i), after)
					d.ID = p + "new" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
					if err := save(d, false); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					created = append(created, d)
					mu.Unlock()
				}
			})
		}
		// The logout, twice at once: as two replicas receiving it would.
		for range 2 {
			wg.Go(func() {
				<-start
				if err := store.EndMatching(ctx, session.Match{Issuer: storetest.Issuer, Subject: "alice", At: at, Until: at.Add(time.Hour)}); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		// A logout received again once everything settled finds the same.
		if err := store.EndMatching(ctx, session.Match{Issuer: storetest.Issuer, Subject: "alice", At: at, Until: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}

		for _, d := range old {
			if raw, err := b.Get(ctx, d.ID); raw != nil || err != nil {
				t.Errorf("session %s, created before the logout, survived it (%v)", d.ID, err)
			}
			if err := save(d, true); !errors.Is(err, session.ErrEnded) {
				t.Errorf("a save of ended session %s = %v, want ErrEnded", d.ID, err)
			}
		}
		bySub, err := b.Lookup(ctx, "sub|"+storetest.Issuer+"|alice")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range created {
			if raw, err := b.Get(ctx, d.ID); raw == nil || err != nil {
				t.Errorf("session %s, created after the logout, was ended (%v)", d.ID, err)
			}
			bySID, err := b.Lookup(ctx, index(d)[0])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(bySub, d.ID) || !slices.Contains(bySID, d.ID) {
				t.Errorf("live session %s is missing from its index keys", d.ID)
			}
		}
		if len(created) != 4*5 {
			t.Errorf("%d sessions created, want 20", len(created))
		}
		// Only the new sessions are left, and their keys.
		var ids []string
		for _, d := range created {
			ids = append(ids, d.ID)
		}
		if err := b.Delete(ctx, ids...); err != nil {
			t.Fatal(err)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("after the last sessions ended, Redis holds %v", ks)
		}
	})
}

// failOn is a hook that fails, as a lost connection would, every command
// whose first key starts with one of the prefixes, while it is on.
type failOn struct {
	on       atomic.Bool
	prefixes []string
}

var errInjected = errors.New("injected failure")

func (f *failOn) hit(cmd redis.Cmder) bool {
	if !f.on.Load() {
		return false
	}
	for _, a := range cmd.Args() {
		if s, ok := a.(string); ok {
			for _, p := range f.prefixes {
				if strings.HasPrefix(s, p) {
					return true
				}
			}
		}
	}
	return false
}

func (f *failOn) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f *failOn) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.hit(cmd) {
			cmd.SetErr(errInjected)
			return errInjected
		}
		return next(ctx, cmd)
	}
}
func (f *failOn) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if f.hit(cmd) {
				for _, cmd := range cmds {
					cmd.SetErr(errInjected)
				}
				return errInjected
			}
		}
		return next(ctx, cmds)
	}
}

// On a cluster a write and a delete are steps on several slots. A failed
// step leaves no live session that its index keys do not find, and a
// logout whose last step (the index keys) fails has still ended the
// session.
func TestClusterStepsFailSafe(t *testing.T) {
	c := clusterClient(t, sharedCluster(t))
	p := prefix()
	fail := &failOn{prefixes: []string{p + "i:"}}
	c.AddHook(fail)
	b := newBackend(t, c, redisstore.Options{Prefix: p})
	index := []string{"sid|x", "sub|x"}

	// The index keys fail: no session is written.
	fail.on.Store(true)
	if err := b.Set(ctx, "a", []byte("v1"), time.Hour, index, false); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Set with its index keys failing = %v, want ErrUnavailable", err)
	}
	fail.on.Store(false)
	if raw, _ := b.Get(ctx, "a"); raw != nil {
		t.Fatal("a session was written that its index keys do not list")
	}

	// The index keys fail after the record is gone: the logout stands.
	if err := b.Set(ctx, "a", []byte("v1"), time.Hour, index, false); err != nil {
		t.Fatal(err)
	}
	fail.on.Store(true)
	if raw, err := b.Take(ctx, "a"); string(raw) != "v1" || err != nil {
		t.Fatalf("Take with the index keys failing = %q, %v; want the record", raw, err)
	}
	fail.on.Store(false)
	if raw, _ := b.Get(ctx, "a"); raw != nil {
		t.Fatal("the session survived its logout")
	}
	// What is left points to no session, and the store skips it.
	if ids, _ := b.Lookup(ctx, "sub|x"); !slices.Equal(ids, []string{"a"}) {
		t.Errorf("Lookup = %v, want the stale id", ids)
	}

	// The record's step fails: the previous record is left as it was.
	if err := b.Set(ctx, "b", []byte("v1"), time.Hour, index, false); err != nil {
		t.Fatal(err)
	}
	fail.prefixes = []string{p + "s:"}
	fail.on.Store(true)
	err := b.Set(ctx, "b", []byte("v2"), time.Hour, index, true)
	fail.on.Store(false)
	if !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Set with its record failing = %v", err)
	}
	if raw, _ := b.Get(ctx, "b"); string(raw) != "v1" {
		t.Errorf("after a failed Set the record is %q, want v1", raw)
	}
	if err := b.Delete(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
}
