package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

func newServerStore(t testing.TB, b session.Backend, now func() time.Time, keys ...session.KeyPair) *session.ServerStore {
	t.Helper()
	if len(keys) == 0 {
		keys = testKeys(1)
	}
	s, err := session.NewServerStore(session.ServerOptions{Backend: b, Keys: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newMemory(t testing.TB, now func() time.Time) *session.MemoryBackend {
	b := session.NewMemoryBackend(session.MemoryOptions{Now: now, SweepInterval: -1})
	t.Cleanup(func() { b.Close() })
	return b
}

// bytesOnly hides the memory backend's DataBackend methods, so the store
// takes the path of a remote backend: encoded records.
type bytesOnly struct{ b session.Backend }

func (o bytesOnly) Get(ctx context.Context, id string) ([]byte, error) { return o.b.Get(ctx, id) }
func (o bytesOnly) Set(ctx context.Context, id string, data []byte, ttl time.Duration, index []string, update bool) error {
	return o.b.Set(ctx, id, data, ttl, index, update)
}
func (o bytesOnly) Delete(ctx context.Context, ids ...string) error { return o.b.Delete(ctx, ids...) }
func (o bytesOnly) Lookup(ctx context.Context, key string) ([]string, error) {
	return o.b.Lookup(ctx, key)
}

func TestServerStoreConformance(t *testing.T) {
	frozen := func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }
	cases := []struct {
		name    string
		backend func(t *testing.T, now func() time.Time) session.Backend
	}{
		{"memory", func(t *testing.T, now func() time.Time) session.Backend { return newMemory(t, now) }},
		{"encoded", func(t *testing.T, now func() time.Time) session.Backend { return bytesOnly{newMemory(t, now)} }},
		// The backend's clock never moves, so its TTLs never lapse: only
		// the store's own check of Data.Expires ends sessions.
		{"memory-without-ttl", func(t *testing.T, _ func() time.Time) session.Backend { return newMemory(t, frozen) }},
		{"encoded-without-ttl", func(t *testing.T, _ func() time.Time) session.Backend { return bytesOnly{newMemory(t, frozen)} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, storetest.Harness{
				ServerSide: true,
				New: func(t *testing.T, now func() time.Time) session.Store {
					return newServerStore(t, c.backend(t, now), now)
				},
			})
		})
	}
}

// spy counts the calls that reach a backend.
type spy struct {
	session.Backend
	calls atomic.Int64
}

func (s *spy) Get(ctx context.Context, id string) ([]byte, error) {
	s.calls.Add(1)
	return s.Backend.Get(ctx, id)
}
func (s *spy) Set(ctx context.Context, id string, data []byte, ttl time.Duration, index []string, update bool) error {
	s.calls.Add(1)
	return s.Backend.Set(ctx, id, data, ttl, index, update)
}
func (s *spy) Delete(ctx context.Context, ids ...string) error {
	s.calls.Add(1)
	return s.Backend.Delete(ctx, ids...)
}
func (s *spy) Lookup(ctx context.Context, key string) ([]string, error) {
	s.calls.Add(1)
	return s.Backend.Lookup(ctx, key)
}

func TestServerStoreForgedCookieNeverReachesBackend(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	backend := &spy{Backend: bytesOnly{newMemory(t, clock.Now)}}
	store := newServerStore(t, backend, clock.Now)
	b, d := saveNew(t, store, clock.Now(), "alice", "sid-1")
	good := cookieValue(t, b, store.CookieName())
	id, sig, _ := strings.Cut(good, ".")
	other := newServerStore(t, newMemory(t, clock.Now), clock.Now, testKeys(9)...)
	foreign := storetest.NewBrowser()
	{
		rec := httptest.NewRecorder()
		if err := other.Save(rec, foreign.Request("/"), &session.Data{ID: d.ID, Issuer: "x", Expires: clock.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		foreign.Apply(rec)
	}
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	cases := []struct {
		name    string
		cookies []*http.Cookie
	}{
		{"bare id", []*http.Cookie{{Name: store.CookieName(), Value: id}}},
		{"id with empty signature", []*http.Cookie{{Name: store.CookieName(), Value: id + "."}}},
		{"changed id", []*http.Cookie{{Name: store.CookieName(), Value: flip(id, 0) + "." + sig}}},
		{"changed signature", []*http.Cookie{{Name: store.CookieName(), Value: id + "." + flip(sig, 5)}}},
		{"truncated signature", []*http.Cookie{{Name: store.CookieName(), Value: id + "." + sig[:len(sig)-1]}}},
		{"signature not base64", []*http.Cookie{{Name: store.CookieName(), Value: id + "." + strings.Repeat("*", len(sig))}}},
		{"signed by another key", []*http.Cookie{{Name: store.CookieName(), Value: cookieValue(t, foreign, other.CookieName())}}},
		{"id not a token", []*http.Cookie{{Name: store.CookieName(), Value: "a/b." + sig}}},
		{"too long", []*http.Cookie{{Name: store.CookieName(), Value: strings.Repeat("A", 300) + "." + sig}}},
		{"two cookies", []*http.Cookie{{Name: store.CookieName(), Value: good}, {Name: store.CookieName(), Value: good}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := backend.calls.Load()
			got, err := store.Load(requestWith(c.cookies...))
			if !errors.Is(err, session.ErrInvalid) || got != nil {
				t.Errorf("Load = %v, %v; want nil, ErrInvalid", got, err)
			}
			if err := store.Delete(httptest.NewRecorder(), requestWith(c.cookies...), nil); err != nil {
				t.Errorf("Delete: %v", err)
			}
			if n := backend.calls.Load() - before; n != 0 {
				t.Errorf("a forged cookie reached the backend (%d calls)", n)
			}
		})
	}
	if got, err := store.Load(requestWith(&http.Cookie{Name: store.CookieName(), Value: good})); err != nil || got == nil {
		t.Fatalf("the genuine cookie no longer loads: %v, %v", got, err)
	}
}

func TestServerStoreKeyRotation(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	backend := newMemory(t, clock.Now)
	oldKey, newKey := testKeys(1), testKeys(2)
	before := newServerStore(t, backend, clock.Now, oldKey...)
	b, d := saveNew(t, before, clock.Now(), "alice", "sid-1")

	rolling := newServerStore(t, backend, clock.Now, append(newKey, oldKey...)...)
	if got, err := rolling.Load(b.Request("/")); err != nil || got == nil || got.ID != d.ID {
		t.Fatalf("old key no longer reads: %v, %v", got, err)
	}
	// A write under the rotated keys signs with the newest key.
	rec := httptest.NewRecorder()
	if err := rolling.Save(rec, b.Request("/"), d); err != nil {
		t.Fatal(err)
	}
	resigned := storetest.NewBrowser()
	resigned.Apply(rec)

	after := newServerStore(t, backend, clock.Now, newKey...)
	if got, err := after.Load(b.Request("/")); !errors.Is(err, session.ErrInvalid) || got != nil {
		t.Errorf("removed key still reads: %v, %v", got, err)
	}
	if got, err := after.Load(resigned.Request("/")); err != nil || got == nil || got.ID != d.ID {
		t.Errorf("cookie re-signed with the new key does not read: %v, %v", got, err)
	}
}

func TestServerStoreCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		clock := storetest.NewClock(time.Now().Truncate(time.Second))
		s, err := session.NewServerStore(session.ServerOptions{Backend: newMemory(t, clock.Now), Keys: testKeys(1), Secure: secure, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		d := storetest.NewData("alice", "sid", clock.Now())
		rec := httptest.NewRecorder()
		if err := s.Save(rec, requestWith(), d); err != nil {
			t.Fatal(err)
		}
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("Save set %d cookies, want 1", len(cs))
		}
		c := cs[0]
		wantName := "endsession_id"
		if secure {
			wantName = "__Host-endsession_id"
		}
		if c.Name != wantName || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure ||
			c.MaxAge != int(storetest.Lifetime.Idle/time.Second) || c.Domain != "" {
			t.Errorf("secure=%v: cookie %+v", secure, c)
		}
		if len(c.Value) > 80 || strings.Contains(c.Value, "alice") {
			t.Errorf("cookie value %q should be a signed identifier only", c.Value)
		}
	}
}

// failing is a backend that cannot answer.
type failing struct{}

var errDown = errors.New("connection refused")

func (failing) Get(context.Context, string) ([]byte, error) { return nil, errDown }
func (failing) Set(context.Context, string, []byte, time.Duration, []string, bool) error {
	return errDown
}
func (failing) Delete(context.Context, ...string) error          { return errDown }
func (failing) Lookup(context.Context, string) ([]string, error) { return nil, errDown }

func TestServerStoreBackendDown(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	up := newMemory(t, clock.Now)
	good := newServerStore(t, up, clock.Now)
	b, d := saveNew(t, good, clock.Now(), "alice", "sid-1")
	down := newServerStore(t, failing{}, clock.Now)

	if got, err := down.Load(b.Request("/")); !errors.Is(err, session.ErrUnavailable) || !errors.Is(err, errDown) || got != nil {
		t.Errorf("Load = %v, %v; want ErrUnavailable", got, err)
	}
	rec := httptest.NewRecorder()
	if err := down.Save(rec, b.Request("/"), d); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Save = %v, want ErrUnavailable", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("a failed Save set a cookie")
	}
	rec = httptest.NewRecorder()
	if err := down.Delete(rec, b.Request("/"), d); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Delete = %v, want ErrUnavailable", err)
	}
	if cs := rec.Result().Cookies(); len(cs) != 0 {
		t.Errorf("a failed Delete must keep the cookie, so that a retry can delete the record; got %v", cs)
	}
	if err := down.EndMatching(context.Background(), session.Match{Issuer: storetest.Issuer, SID: "sid-1", At: clock.Now()}); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("EndMatching = %v, want ErrUnavailable", err)
	}
}

// flaky fails Set on demand.
type flaky struct {
	session.Backend
	fail atomic.Bool
}

func (f *flaky) Set(ctx context.Context, id string, data []byte, ttl time.Duration, index []string, update bool) error {
	if f.fail.Load() {
		return errDown
	}
	return f.Backend.Set(ctx, id, data, ttl, index, update)
}

func TestServerStoreFailedSaveKeepsOldSession(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	backend := &flaky{Backend: bytesOnly{newMemory(t, clock.Now)}}
	s := newServerStore(t, backend, clock.Now)
	b, d := saveNew(t, s, clock.Now(), "alice", "sid-1")
	backend.fail.Store(true)
	changed := *d
	changed.AccessToken = "new-token"
	rec := httptest.NewRecorder()
	if err := s.Save(rec, b.Request("/"), &changed); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("Save = %v, want ErrUnavailable", err)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("a failed Save set a cookie")
	}
	got, err := s.Load(b.Request("/"))
	if err != nil || got == nil || got.AccessToken != d.AccessToken {
		t.Errorf("after a failed Save, Load = %+v, %v; want the old session", got, err)
	}
}

func TestServerStoreSaveDoesNotResurrectEndedSession(t *testing.T) {
	for _, name := range []string{"memory", "encoded"} {
		t.Run(name, func(t *testing.T) {
			clock := storetest.NewClock(time.Now())
			var backend session.Backend = newMemory(t, clock.Now)
			if name == "encoded" {
				backend = bytesOnly{backend}
			}
			s := newServerStore(t, backend, clock.Now)
			b, _ := saveNew(t, s, clock.Now(), "alice", "sid-1")
			r := b.Request("/")
			d, err := s.Load(r) // a request in flight...
			if err != nil || d == nil {
				t.Fatal(d, err)
			}
			// ...while the provider ends the session (back-channel logout).
			if err := s.EndMatching(context.Background(), session.Match{Issuer: storetest.Issuer, SID: "sid-1", At: clock.Now()}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(5 * time.Minute)
			storetest.Lifetime.Stamp(d, clock.Now())
			rec := httptest.NewRecorder()
			if err := s.Save(rec, r, d); !errors.Is(err, session.ErrEnded) {
				t.Errorf("touching an ended session: Save = %v, want ErrEnded", err)
			}
			if len(rec.Result().Cookies()) != 0 {
				t.Error("Save of an ended session set a cookie")
			}
			if got, _ := s.Load(b.Request("/")); got != nil {
				t.Error("the ended session came back")
			}
		})
	}
}

func TestServerStoreNewSessionReplacesOld(t *testing.T) {
	// What the middleware does at login: delete the request's session,
	// then save a new one under a new identifier.
	clock := storetest.NewClock(time.Now())
	backend := newMemory(t, clock.Now)
	s := newServerStore(t, backend, clock.Now)
	b, old := saveNew(t, s, clock.Now(), "alice", "sid-1")
	r := b.Request("/")
	rec := httptest.NewRecorder()
	if err := s.Delete(rec, r, old); err != nil {
		t.Fatal(err)
	}
	d := storetest.NewData("alice", "sid-2", clock.Now())
	if err := s.Save(rec, r, d); err != nil {
		t.Fatal(err)
	}
	b.Apply(rec)
	got, err := s.Load(b.Request("/"))
	if err != nil || got == nil || got.ID != d.ID || got.ID == old.ID {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if backend.Len() != 1 {
		t.Errorf("backend keeps %d sessions, want 1", backend.Len())
	}
}

func TestServerStoreOptions(t *testing.T) {
	cases := []struct {
		name string
		opts session.ServerOptions
	}{
		{"no backend", session.ServerOptions{Keys: testKeys(1)}},
		{"no keys", session.ServerOptions{Backend: failing{}}},
		{"short hash key", session.ServerOptions{Backend: failing{}, Keys: []session.KeyPair{{HashKey: []byte("short")}}}},
	}
	for _, c := range cases {
		if _, err := session.NewServerStore(c.opts); err == nil {
			t.Errorf("%s: NewServerStore accepted invalid options", c.name)
		}
	}
	s := newServerStore(t, failing{}, time.Now)
	if err := s.Save(httptest.NewRecorder(), requestWith(), &session.Data{ID: "not a token", Expires: time.Now().Add(time.Hour)}); err == nil {
		t.Error("Save accepted an identifier that is not cookie-safe")
	}
}

func TestServerStoreConcurrent(t *testing.T) {
	backend := session.NewMemoryBackend(session.MemoryOptions{MaxEntries: 50, SweepInterval: time.Millisecond})
	defer backend.Close()
	s := newServerStore(t, backend, time.Now)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 100 {
				b, d := saveNew(t, s, time.Now(), "user", "sid")
				got, err := s.Load(b.Request("/"))
				if err != nil {
					t.Error(err)
					return
				}
				if got != nil {
					got.Name = "changed" // the loaded copy is the caller's
				}
				switch i % 3 {
				case 0:
					s.Delete(httptest.NewRecorder(), b.Request("/"), d)
				case 1:
					s.EndMatching(context.Background(), session.Match{Issuer: storetest.Issuer, Subject: "user", At: time.Now()})
				}
			}
		})
	}
	wg.Wait()
}

func TestServerStoreLoadAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless with -race")
	}
	clock := storetest.NewClock(time.Now())
	s := newServerStore(t, newMemory(t, clock.Now), clock.Now, testKeys(2, 1)...)
	b, _ := saveNew(t, s, clock.Now(), "alice", "sid-1")
	r := b.Request("/")
	n := testing.AllocsPerRun(200, func() {
		if d, err := s.Load(r); err != nil || d == nil {
			t.Fatal(d, err)
		}
	})
	// One copy of the session for the caller; nothing else.
	if n > 1 {
		t.Errorf("Load allocates %v times, want at most 1", n)
	}
}

func BenchmarkServerStoreLoad(b *testing.B) {
	s := newServerStore(b, newMemory(b, time.Now), time.Now)
	br, _ := saveNew(b, s, time.Now(), "alice", "sid-1")
	r := br.Request("/")
	b.ReportAllocs()
	for b.Loop() {
		if d, err := s.Load(r); err != nil || d == nil {
			b.Fatal(d, err)
		}
	}
}
