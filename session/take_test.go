package session_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// taking is an encoded backend that can take records in one call.
type taking struct {
	bytesOnly
	takes atomic.Int64
	down  bool
}

func (t *taking) Take(ctx context.Context, id string) ([]byte, error) {
	t.takes.Add(1)
	if t.down {
		return nil, errDown
	}
	data, err := t.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return data, t.Delete(ctx, id)
}

// failingTake is a backend that is down, Take included.
type failingTake struct{ failing }

func (failingTake) Take(context.Context, string) ([]byte, error) { return nil, errDown }

var _ session.Taker = (*session.ServerStore)(nil)

func TestServerStoreTake(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	for _, tc := range []struct {
		name    string
		backend func() session.Backend
		takes   func(session.Backend) int64
	}{
		{"memory, Load then Delete", func() session.Backend { return newMemory(t, clock.Now) }, nil},
		{"TakeBackend, one call", func() session.Backend { return &taking{bytesOnly: bytesOnly{newMemory(t, clock.Now)}} },
			func(b session.Backend) int64 { return b.(*taking).takes.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := tc.backend()
			store := newServerStore(t, backend, clock.Now)
			b, saved := saveNew(t, store, clock.Now(), "alice", "sid-1")
			other, _ := saveNew(t, store, clock.Now(), "bob", "sid-2")

			rec := httptest.NewRecorder()
			d, err := store.Take(rec, b.Request("/"))
			if err != nil || d == nil || d.ID != saved.ID || d.Subject != "alice" || d.IDToken != saved.IDToken {
				t.Fatalf("Take = %v, %v; want alice's session", d, err)
			}
			if tc.takes != nil && tc.takes(backend) != 1 {
				t.Fatalf("%d calls to Take, want 1", tc.takes(backend))
			}
			expired := false
			for _, c := range rec.Result().Cookies() {
				expired = expired || c.Name == store.CookieName() && c.MaxAge < 0
			}
			if !expired {
				t.Fatal("Take did not expire the cookie")
			}
			if d, err := store.Load(b.Request("/")); d != nil || err != nil {
				t.Fatalf("after Take, Load = %v, %v; want no session", d, err)
			}
			if d, err := store.Take(httptest.NewRecorder(), b.Request("/")); d != nil || err != nil {
				t.Fatalf("a second Take = %v, %v; want no session", d, err)
			}
			if d, _ := store.Load(other.Request("/")); d == nil || d.Subject != "bob" {
				t.Fatal("Take deleted another session")
			}

			// A forged cookie: ErrInvalid, the cookie expired all the same.
			forged := storetest.NewBrowser()
			for _, c := range other.Cookies() {
				c.Value = "x" + c.Value
				forged.SetCookie(c)
			}
			rec = httptest.NewRecorder()
			if d, err := store.Take(rec, forged.Request("/")); d != nil || !errors.Is(err, session.ErrInvalid) {
				t.Fatalf("Take with a forged cookie = %v, %v; want ErrInvalid", d, err)
			}
			if len(rec.Result().Cookies()) == 0 {
				t.Fatal("Take with a forged cookie did not expire it")
			}
			// No cookie: nothing.
			if d, err := store.Take(httptest.NewRecorder(), storetest.NewBrowser().Request("/")); d != nil || err != nil {
				t.Fatalf("Take without a cookie = %v, %v", d, err)
			}
			// An expired session: none, and gone.
			c, _ := saveNew(t, store, clock.Now(), "carol", "sid-3")
			clock.Advance(25 * time.Hour)
			if d, err := store.Take(httptest.NewRecorder(), c.Request("/")); d != nil || err != nil {
				t.Fatalf("Take of an expired session = %v, %v; want none", d, err)
			}
		})
	}
}

func TestServerStoreTakeBackendDown(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	good := newServerStore(t, newMemory(t, clock.Now), clock.Now)
	b, _ := saveNew(t, good, clock.Now(), "alice", "sid-1")
	for name, backend := range map[string]session.Backend{"Load then Delete": failing{}, "TakeBackend": failingTake{}} {
		t.Run(name, func(t *testing.T) {
			store := newServerStore(t, backend, clock.Now)
			rec := httptest.NewRecorder()
			d, err := store.Take(rec, b.Request("/"))
			if d != nil || !errors.Is(err, session.ErrUnavailable) {
				t.Fatalf("Take = %v, %v; want no session and ErrUnavailable", d, err)
			}
			if cs := rec.Result().Cookies(); len(cs) != 0 {
				t.Fatalf("Take with the backend down set cookies %v; the cookie must be kept so that a retry can delete the record", cs)
			}
		})
	}
}
