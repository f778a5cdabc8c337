package session_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

func newCookieStore(t testing.TB, now func() time.Time, keys ...session.KeyPair) *session.CookieStore {
	t.Helper()
	if len(keys) == 0 {
		keys = testKeys(1)
	}
	s, err := session.NewCookieStore(session.CookieOptions{Keys: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCookieStoreConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) session.Store { return newCookieStore(t, now) },
	})
}

func TestCookieStoreKeyRotation(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	oldKey, newKey := testKeys(1), testKeys(2)
	b, d := saveNew(t, newCookieStore(t, clock.Now, oldKey...), clock.Now(), "alice", "sid-1")

	rolling := newCookieStore(t, clock.Now, append(newKey, oldKey...)...)
	if got, err := rolling.Load(b.Request("/")); err != nil || got == nil || got.ID != d.ID {
		t.Fatalf("old key no longer reads: %v, %v", got, err)
	}
	rec := httptest.NewRecorder()
	if err := rolling.Save(rec, b.Request("/"), d); err != nil {
		t.Fatal(err)
	}
	resigned := storetest.NewBrowser()
	resigned.Apply(rec)

	after := newCookieStore(t, clock.Now, newKey...)
	if got, err := after.Load(b.Request("/")); !errors.Is(err, session.ErrInvalid) || got != nil {
		t.Errorf("removed key still reads: %v, %v", got, err)
	}
	if got, err := after.Load(resigned.Request("/")); err != nil || got == nil || got.ID != d.ID {
		t.Errorf("cookie re-written with the new key does not read: %v, %v", got, err)
	}
}
