package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

func newGorilla(t testing.TB, gs sessions.Store, now func() time.Time) *session.GorillaStore {
	t.Helper()
	s, err := session.NewGorillaStore(session.GorillaOptions{Store: gs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hashKey(seed byte) []byte { return testKeys(seed)[0].HashKey }

func TestGorillaStoreConformance(t *testing.T) {
	cases := []struct {
		name       string
		serverSide bool
		store      func(t *testing.T) sessions.Store
	}{
		{"filesystem", true, func(t *testing.T) sessions.Store {
			return sessions.NewFilesystemStore(t.TempDir(), hashKey(1), testKeys(1)[0].BlockKey)
		}},
		{"cookie", false, func(t *testing.T) sessions.Store {
			return sessions.NewCookieStore(hashKey(1), testKeys(1)[0].BlockKey)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, storetest.Harness{
				ServerSide: c.serverSide,
				New: func(t *testing.T, now func() time.Time) session.Store {
					return newGorilla(t, c.store(t), now)
				},
			})
		})
	}
}

func sessionFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "session_*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestGorillaStoreFilesystemRoundTripAndDeletion(t *testing.T) {
	dir := t.TempDir()
	fs := sessions.NewFilesystemStore(dir, hashKey(1))
	clock := storetest.NewClock(time.Now())
	s := newGorilla(t, fs, clock.Now)
	b, d := saveNew(t, s, clock.Now(), "alice", "sid-1")
	if n := len(sessionFiles(t, dir)); n != 1 {
		t.Fatalf("%d session files after Save, want 1", n)
	}
	// The session is one []byte value in the gorilla session.
	gs, err := fs.New(b.Request("/"), "endsession")
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := gs.Values["endsession"].([]byte)
	if !ok || len(gs.Values) != 1 {
		t.Fatalf("gorilla session values = %v, want one []byte", gs.Values)
	}
	var stored session.Data
	if err := stored.UnmarshalBinary(raw); err != nil || stored.ID != d.ID || stored.IDToken != d.IDToken {
		t.Fatalf("stored value = %+v, %v", stored, err)
	}

	// A touch rewrites the same record.
	clock.Advance(5 * time.Minute)
	storetest.Lifetime.Stamp(d, clock.Now())
	rec := httptest.NewRecorder()
	if err := s.Save(rec, b.Request("/"), d); err != nil {
		t.Fatal(err)
	}
	b.Apply(rec)
	if n := len(sessionFiles(t, dir)); n != 1 {
		t.Fatalf("%d session files after a touch, want 1", n)
	}

	// A new login (new ID) never reuses the old record.
	old := d
	rec = httptest.NewRecorder()
	if err := s.Delete(rec, b.Request("/"), old); err != nil {
		t.Fatal(err)
	}
	fresh := storetest.NewData("alice", "sid-2", clock.Now())
	if err := s.Save(rec, b.Request("/"), fresh); err != nil {
		t.Fatal(err)
	}
	b.Apply(rec)
	if got, err := s.Load(b.Request("/")); err != nil || got == nil || got.ID != fresh.ID {
		t.Fatalf("after a new login Load = %v, %v", got, err)
	}
	if n := len(sessionFiles(t, dir)); n != 1 {
		t.Fatalf("%d session files after a new login, want 1", n)
	}

	rec = httptest.NewRecorder()
	if err := s.Delete(rec, b.Request("/"), fresh); err != nil {
		t.Fatal(err)
	}
	if n := len(sessionFiles(t, dir)); n != 0 {
		t.Errorf("%d session files after Delete, want 0", n)
	}
	cs := rec.Result().Cookies()
	if len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Name != "endsession" {
		t.Errorf("Delete cookies = %v, want the session cookie expired", cs)
	}
}

func TestGorillaStoreCookieAttributes(t *testing.T) {
	// gorilla's NewCookieStore defaults to SameSite=None without
	// HttpOnly; the adapter sets what endsession needs.
	gs := sessions.NewCookieStore(hashKey(1))
	gs.Options.Domain = "app.example"
	for _, secure := range []bool{false, true} {
		s, err := session.NewGorillaStore(session.GorillaOptions{Store: gs, Secure: secure})
		if err != nil {
			t.Fatal(err)
		}
		d := storetest.NewData("alice", "sid", time.Now())
		rec := httptest.NewRecorder()
		if err := s.Save(rec, requestWith(), d); err != nil {
			t.Fatal(err)
		}
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("%d cookies, want 1", len(cs))
		}
		c := cs[0]
		if c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure ||
			c.MaxAge <= 0 || c.MaxAge > int(storetest.Lifetime.Idle/time.Second) || c.Domain != "app.example" {
			t.Errorf("secure=%v: cookie %+v", secure, c)
		}
	}
	if gs.Options.SameSite != http.SameSiteNoneMode || gs.Options.HttpOnly {
		t.Error("the adapter changed the gorilla store's own options")
	}
}

func TestGorillaStoreTooLarge(t *testing.T) {
	s := newGorilla(t, sessions.NewCookieStore(hashKey(1)), time.Now)
	d := storetest.NewData("alice", "sid", time.Now())
	d.IDToken = strings.Repeat("x", 8000)
	if err := s.Save(httptest.NewRecorder(), requestWith(), d); !errors.Is(err, session.ErrTooLarge) {
		t.Errorf("Save of an 8 KB session in a gorilla CookieStore = %v, want ErrTooLarge", err)
	}
}

func TestGorillaStoreUnavailable(t *testing.T) {
	dir := t.TempDir()
	s := newGorilla(t, sessions.NewFilesystemStore(dir, hashKey(1)), time.Now)
	b, d := saveNew(t, s, time.Now(), "alice", "sid")
	// The directory becomes unreadable: the backend is down.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(b.Request("/")); !errors.Is(err, session.ErrUnavailable) || got != nil {
		t.Errorf("Load = %v, %v; want ErrUnavailable", got, err)
	}
	if err := s.Save(httptest.NewRecorder(), b.Request("/"), d); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Save = %v, want ErrUnavailable", err)
	}
}

func TestGorillaStoreEndMatchingUsesRevocations(t *testing.T) {
	revs := session.NewMemoryRevocations(session.RevocationLimits{})
	gs := sessions.NewCookieStore(hashKey(1))
	one, err := session.NewGorillaStore(session.GorillaOptions{Store: gs, Revocations: revs})
	if err != nil {
		t.Fatal(err)
	}
	two, err := session.NewGorillaStore(session.GorillaOptions{Store: gs, Revocations: revs})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := saveNew(t, one, time.Now(), "alice", "sid-1")
	now := time.Now()
	if err := two.EndMatching(context.Background(), session.Match{Issuer: storetest.Issuer, SID: "sid-1", At: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, err := one.Load(b.Request("/")); err != nil || got != nil {
		t.Errorf("Load after EndMatching through the shared list = %v, %v; want nil", got, err)
	}
}

func TestGorillaStoreOptions(t *testing.T) {
	if _, err := session.NewGorillaStore(session.GorillaOptions{}); err == nil {
		t.Error("NewGorillaStore accepted no store")
	}
}
