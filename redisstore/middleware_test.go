package redisstore_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

const appURL = "http://app.example"

// replica is one instance of an application behind a load balancer.
type replica struct {
	m     *middleware.Middleware
	store session.Store
	h     http.Handler
}

// newReplica builds an application whose sessions live in store. Its
// /start route creates a session for ?sub= and ?sid= (as an
// application's own login would), and /me answers the user's subject.
func newReplica(t *testing.T, store session.Store, lifetime session.Lifetime) *replica {
	t.Helper()
	m, err := middleware.New(middleware.Config{
		AppURL: appURL,
		// Logout stays local: the provider has no end_session_endpoint.
		Providers: []providers.Provider{{Name: "tv", Logout: providers.RPInitiated{}}},
		Keys:      testKeys(),
		Store:     store,
		Lifetime:  lifetime,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		d := session.Data{Provider: "tv", Issuer: storetest.Issuer, Subject: r.FormValue("sub"), SID: r.FormValue("sid")}
		if err := m.StartSession(w, r, d); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "started")
	})
	mux.Handle("/me", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := middleware.SessionFromContext(r.Context())
		fmt.Fprint(w, d.Subject)
	})))
	return &replica{m: m, store: store, h: m.Handler(mux)}
}

func (a *replica) serve(b *storetest.Browser, r *http.Request) *httptest.ResponseRecorder {
	for _, c := range b.Cookies() {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	b.Apply(rec)
	return rec
}

func (a *replica) login(t *testing.T, b *storetest.Browser, sub, sid string) {
	t.Helper()
	rec := a.serve(b, httptest.NewRequest(http.MethodGet, appURL+"/start?sub="+sub+"&sid="+sid, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
}

// me asks who the browser's user is: the subject and 200, or 401 or 503.
func (a *replica) me(b *storetest.Browser) (int, string) {
	r := httptest.NewRequest(http.MethodGet, appURL+"/me", nil)
	r.Header.Set("Accept", "application/json")
	rec := a.serve(b, r)
	return rec.Code, rec.Body.String()
}

func (a *replica) logout(b *storetest.Browser) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, appURL+"/auth/logout", strings.NewReader(""))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", appURL)
	return a.serve(b, r)
}

func wantUser(t *testing.T, name string, a *replica, b *storetest.Browser, want string) {
	t.Helper()
	code, body := a.me(b)
	switch {
	case want == "" && code != http.StatusUnauthorized:
		t.Errorf("%s: /me = %d %q, want 401", name, code, body)
	case want != "" && (code != http.StatusOK || body != want):
		t.Errorf("%s: /me = %d %q, want 200 %q", name, code, body, want)
	}
}

// redisReplicas returns two replicas sharing one Redis, and the client.
func redisReplicas(t *testing.T, c redis.UniversalClient, opts redisstore.Options, lifetime session.Lifetime) (*replica, *replica) {
	t.Helper()
	var rs [2]*replica
	for i := range rs {
		store, err := session.NewServerStore(session.ServerOptions{Backend: newBackend(t, c, opts), Keys: testKeys()})
		if err != nil {
			t.Fatal(err)
		}
		rs[i] = newReplica(t, store, lifetime)
	}
	return rs[0], rs[1]
}

func TestReplicasShareSessions(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		a, b := redisReplicas(t, c, redisstore.Options{Prefix: p}, session.Lifetime{})
		browser := storetest.NewBrowser()
		a.login(t, browser, "alice", "sid-1")
		wantUser(t, "on the other replica", b, browser, "alice")

		// An authenticated request costs one GET and no write.
		counter := &commandCounter{}
		c.AddHook(counter)
		wantUser(t, "again", b, browser, "alice")
		if got := counter.names(); len(got) != 1 || got[0] != "get" {
			t.Errorf("an authenticated request sent %v to Redis, want one GET", got)
		}
		if len(keys(t, c, p)) == 0 {
			t.Fatal("no session in Redis")
		}

		rec := b.logout(browser)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("logout: %d %s", rec.Code, rec.Body)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("after logout Redis still holds %v", ks)
		}
		wantUser(t, "after logout on the first replica", a, browser, "")
	})
}

func TestEndMatchingAcrossReplicas(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		a, b := redisReplicas(t, c, redisstore.Options{Prefix: p}, session.Lifetime{})
		phone, laptop, bob := storetest.NewBrowser(), storetest.NewBrowser(), storetest.NewBrowser()
		a.login(t, phone, "alice", "sid-phone")
		a.login(t, laptop, "alice", "sid-laptop")
		a.login(t, bob, "bob", "sid-bob")

		// Back-channel logout received by replica b, for one provider session.
		now := time.Now()
		if err := b.store.EndMatching(ctx, session.Match{Issuer: storetest.Issuer, SID: "sid-phone", At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wantUser(t, "ended sid on replica a", a, phone, "")
		wantUser(t, "other sid", a, laptop, "alice")

		// Then for every session of the user.
		if err := b.store.EndMatching(ctx, session.Match{Issuer: storetest.Issuer, Subject: "alice", At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wantUser(t, "ended subject on replica a", a, laptop, "")
		wantUser(t, "other user", a, bob, "bob")

		// A login after the logout's time is not ended by it.
		a.login(t, phone, "alice", "sid-phone")
		if err := b.store.EndMatching(ctx, session.Match{Issuer: storetest.Issuer, SID: "sid-phone", At: now.Add(-time.Second), Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wantUser(t, "login after the logout", b, phone, "alice")
	})
}

func TestSessionExpiresInRedis(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		a, b := redisReplicas(t, c, redisstore.Options{Prefix: p}, session.Lifetime{Idle: 2 * time.Second, Absolute: time.Hour})
		browser := storetest.NewBrowser()
		a.login(t, browser, "alice", "sid-1")
		ks := keys(t, c, p)
		if len(ks) == 0 {
			t.Fatal("no session in Redis")
		}
		for _, k := range ks {
			if ttl := c.PTTL(ctx, k).Val(); ttl <= 0 || ttl > 2*time.Second {
				t.Errorf("%s has TTL %v, want at most the 2s idle timeout", k, ttl)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(keys(t, c, p)) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if ks := keys(t, c, p); len(ks) != 0 {
			t.Errorf("Redis still holds %v after the session expired", ks)
		}
		wantUser(t, "after expiry", b, browser, "")
	})
}

func TestRedisStoppedAndBack(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client()
	a, b := redisReplicas(t, c, redisstore.Options{Prefix: prefix(), Timeout: 300 * time.Millisecond}, session.Lifetime{})
	browser := storetest.NewBrowser()
	a.login(t, browser, "alice", "sid-1")
	wantUser(t, "before", b, browser, "alice")

	srv.Stop()
	start := time.Now()
	if code, body := b.me(browser); code != http.StatusServiceUnavailable {
		t.Errorf("with Redis stopped: /me = %d %q, want 503", code, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("with Redis stopped the request took %v", d)
	}
	if rec := a.serve(storetest.NewBrowser(), httptest.NewRequest(http.MethodGet, appURL+"/start?sub=bob&sid=s", nil)); rec.Code == http.StatusOK {
		t.Error("a login succeeded with Redis stopped")
	}

	// Redis comes back (empty: the test server keeps nothing on disk).
	// The same clients recover without a restart of the application.
	srv.Start()
	waitFor(t, func() bool { code, _ := b.me(browser); return code != http.StatusServiceUnavailable })
	wantUser(t, "session lost with Redis's memory", b, browser, "")
	a.login(t, browser, "alice", "sid-2")
	wantUser(t, "new login after recovery", b, browser, "alice")
}

func TestRedisPausedIsBounded(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client()
	a, b := redisReplicas(t, c, redisstore.Options{Prefix: prefix(), Timeout: 300 * time.Millisecond}, session.Lifetime{})
	browser := storetest.NewBrowser()
	a.login(t, browser, "alice", "sid-1")

	srv.Pause() // connections hang: no answer at all
	start := time.Now()
	code, _ := b.me(browser)
	elapsed := time.Since(start)
	srv.Resume()
	if code != http.StatusServiceUnavailable {
		t.Errorf("with Redis hanging: /me = %d, want 503", code)
	}
	if elapsed > 1500*time.Millisecond {
		t.Errorf("with Redis hanging the request took %v; the timeout is 300ms", elapsed)
	}
	waitFor(t, func() bool { code, _ := b.me(browser); return code == http.StatusOK })
	wantUser(t, "same session after Redis answers again", a, browser, "alice")
}

func TestRevocationsAcrossCookieReplicas(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		opts := redisstore.Options{Prefix: prefix()}
		var rs [2]*replica
		for i := range rs {
			revs, err := redisstore.NewRevocations(c, opts)
			if err != nil {
				t.Fatal(err)
			}
			store, err := session.NewCookieStore(session.CookieOptions{Keys: testKeys(), Revocations: revs})
			if err != nil {
				t.Fatal(err)
			}
			rs[i] = newReplica(t, store, session.Lifetime{})
		}
		a, b := rs[0], rs[1]
		browser, other := storetest.NewBrowser(), storetest.NewBrowser()
		a.login(t, browser, "alice", "sid-1")
		a.login(t, other, "alice", "sid-2")
		wantUser(t, "cookie session on the other replica", b, browser, "alice")

		c.Ping(ctx)
		counter := &commandCounter{}
		c.AddHook(counter)
		wantUser(t, "again", b, browser, "alice")
		if got := counter.names(); len(got) != 1 || got[0] != "mget" {
			t.Errorf("an authenticated request sent %v to Redis, want one MGET", got)
		}

		now := time.Now()
		if err := a.store.EndMatching(ctx, session.Match{Issuer: storetest.Issuer, SID: "sid-1", At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		wantUser(t, "revoked on the other replica", b, browser, "")
		wantUser(t, "other sid", b, other, "alice")
	})
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
