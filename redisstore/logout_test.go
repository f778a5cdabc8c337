package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// TestCookieStoreWithRevocationsConformance: a cookie store whose
// revocation list is in Redis keeps the store contract, a deleted
// session's copied cookie refused included.
func TestCookieStoreWithRevocationsConformance(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T, now func() time.Time) session.Store {
				revs, err := redisstore.NewRevocations(c, redisstore.Options{Prefix: prefix(), Now: now})
				if err != nil {
					t.Fatal(err)
				}
				s, err := session.NewCookieStore(session.CookieOptions{Keys: testKeys(), Revocations: revs, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		})
	})
}

// TestCopiedCookieAfterLogoutAcrossReplicas: with each Redis store, a
// copy of the session cookie taken before logout on one replica opens
// nothing after it, on that replica and on the other.
func TestCopiedCookieAfterLogoutAcrossReplicas(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		for _, kind := range []string{"ServerStore+Backend", "CookieStore+Revocations"} {
			t.Run(kind, func(t *testing.T) {
				opts := redisstore.Options{Prefix: prefix()}
				var a, b *replica
				if kind == "ServerStore+Backend" {
					a, b = redisReplicas(t, c, opts, session.Lifetime{})
				} else {
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
					a, b = rs[0], rs[1]
				}
				browser := storetest.NewBrowser()
				a.login(t, browser, "alice", "sid-1")
				copied := storetest.NewBrowser()
				for _, ck := range browser.Cookies() {
					copied.SetCookie(ck)
				}
				wantUser(t, "the copy before logout, other replica", b, copied, "alice")
				if rec := a.logout(browser); rec.Code >= 400 {
					t.Fatalf("logout: %d %s", rec.Code, rec.Body)
				}
				wantUser(t, "the browser after logout", a, browser, "")
				wantUser(t, "the copy after logout, this replica", a, copied, "")
				wantUser(t, "the copy after logout, other replica", b, copied, "")
				a.login(t, browser, "alice", "sid-1")
				wantUser(t, "a new login", b, browser, "alice")
			})
		}
	})
}

// TestRevocationsBounded: a flood of provider logouts with made-up sids
// keeps the list within its budget in Redis, evicts no user's logout,
// and long names are refused.
func TestRevocationsBounded(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		revs, err := redisstore.NewRevocations(c, redisstore.Options{
			Prefix: p, RevocationLimits: session.RevocationLimits{Logouts: 5, ProviderLogouts: 20},
		})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		created := now.Add(-time.Minute)
		for i := range 3 {
			if err := revs.Revoke(ctx, session.Match{ID: "S" + strconv.Itoa(i), At: now, Until: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 300 {
			m := session.Match{Issuer: storetest.Issuer, SID: "flood-" + strconv.Itoa(i), At: now, Until: now.Add(7 * 24 * time.Hour)}
			if err := revs.Revoke(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		// 3 logouts, 20 provider logouts and the two budgets.
		if got := keys(t, c, p); len(got) != 3+20+2 {
			t.Errorf("%d keys after the flood, want 25", len(got))
		}
		for i := range 3 {
			if ok, err := revs.Revoked(ctx, &session.Data{ID: "S" + strconv.Itoa(i), Created: created}); err != nil || !ok {
				t.Errorf("logout %d: Revoked = %v, %v after the flood", i, ok, err)
			}
		}
		if ok, _ := revs.Revoked(ctx, &session.Data{ID: "x", Issuer: storetest.Issuer, SID: "flood-299", Created: created}); !ok {
			t.Error("the newest provider logout was dropped")
		}
		if ok, _ := revs.Revoked(ctx, &session.Data{ID: "x", Issuer: storetest.Issuer, SID: "flood-0", Created: created}); ok {
			t.Error("the oldest provider logout was kept past the budget")
		}
		long := strings.Repeat("s", session.MaxMatchLen+1)
		if err := revs.Revoke(ctx, session.Match{Issuer: storetest.Issuer, SID: long, At: now, Until: now.Add(time.Hour)}); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("a %d-byte sid: %v, want ErrInvalid", len(long), err)
		}
	})
}

// TestLogoutWithRedisDown: a logout while Redis does not answer deletes
// nothing and keeps the session cookie (one TAKE script, that failed), so
// that signing out again once Redis is back deletes the session; the
// copied cookie then opens nothing, on either replica. The same holds for
// the cookie store, whose logout is recorded in Redis.
func TestLogoutWithRedisDown(t *testing.T) {
	srv := startRedis(t)
	c := srv.Client()
	for _, kind := range []string{"ServerStore+Backend", "CookieStore+Revocations"} {
		t.Run(kind, func(t *testing.T) {
			opts := redisstore.Options{Prefix: prefix(), Timeout: 300 * time.Millisecond}
			var a, b *replica
			if kind == "ServerStore+Backend" {
				a, b = redisReplicas(t, c, opts, session.Lifetime{})
			} else {
				revs, err := redisstore.NewRevocations(c, opts)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range []**replica{&a, &b} {
					store, err := session.NewCookieStore(session.CookieOptions{Keys: testKeys(), Revocations: revs})
					if err != nil {
						t.Fatal(err)
					}
					*r = newReplica(t, store, session.Lifetime{})
				}
			}
			browser := storetest.NewBrowser()
			a.login(t, browser, "alice", "sid-1")
			copied := storetest.NewBrowser()
			for _, ck := range browser.Cookies() {
				copied.SetCookie(ck)
			}

			srv.Pause()
			rec := a.logout(browser)
			srv.Resume()
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("logout with Redis hanging: %d, want 503", rec.Code)
			}
			for _, ck := range rec.Result().Cookies() {
				if strings.HasPrefix(ck.Name, "endsession") && ck.MaxAge < 0 && ck.Path == "/" {
					t.Errorf("the failed logout expired cookie %s", ck.Name)
				}
			}
			waitFor(t, func() bool { code, _ := a.me(browser); return code == http.StatusOK })

			if rec := a.logout(browser); rec.Code >= 400 {
				t.Fatalf("logout again: %d %s", rec.Code, rec.Body)
			}
			wantUser(t, "the browser after the retry", a, browser, "")
			wantUser(t, "the copy after the retry, this replica", a, copied, "")
			wantUser(t, "the copy after the retry, other replica", b, copied, "")
		})
	}
}

// A front-channel flood in Redis fills its own budget: the provider's
// signed logout stays recorded.
func TestRevocationsUnverifiedFloodKeepsSignedLogouts(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		p := prefix()
		revs, err := redisstore.NewRevocations(c, redisstore.Options{
			Prefix: p, RevocationLimits: session.RevocationLimits{ProviderLogouts: 5, UnverifiedLogouts: 4},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		now := time.Now()
		created := now.Add(-time.Minute)
		if err := revs.Revoke(ctx, session.Match{Issuer: "https://op", SID: "real", At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			m := session.Match{Issuer: "https://op", SID: fmt.Sprint("junk", i), At: now, Until: now.Add(7 * 24 * time.Hour), Unverified: true}
			if err := revs.Revoke(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		// A signed logout of a sid the flood named moves out of its reach.
		if err := revs.Revoke(ctx, session.Match{Issuer: "https://op", SID: "junk49", At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			revs.Revoke(ctx, session.Match{Issuer: "https://op", SID: fmt.Sprint("more", i), At: now, Until: now.Add(7 * 24 * time.Hour), Unverified: true})
		}
		for _, sid := range []string{"real", "junk49"} {
			if ok, err := revs.Revoked(ctx, &session.Data{ID: "x", Issuer: "https://op", SID: sid, Created: created}); err != nil || !ok {
				t.Errorf("the signed logout of %s was evicted by the flood (%v)", sid, err)
			}
		}
		if keys := keys(t, c, p+"{r}:sid|"); len(keys) != 2+4 {
			t.Errorf("%d match keys, want 6 (2 signed, 4 unverified)", len(keys))
		}
	})
}

// TestRevocationsWarnWhenFullBudgetDropsLiveEntries: a budget full of
// live logouts that must drop one says so in the log, at most once a
// minute, as the in-memory list does.
func TestRevocationsWarnWhenFullBudgetDropsLiveEntries(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		var logs strings.Builder
		now := time.Now()
		revs, err := redisstore.NewRevocations(c, redisstore.Options{
			Prefix: prefix(), RevocationLimits: session.RevocationLimits{ProviderLogouts: 2},
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now },
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			m := session.Match{Issuer: storetest.Issuer, SID: "full-" + strconv.Itoa(i), At: now, Until: now.Add(time.Hour)}
			if err := revs.Revoke(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		out := logs.String()
		if n := strings.Count(out, "event=session.revocation_drop"); n != 1 {
			t.Fatalf("%d warnings after 3 drops within a minute, want 1:\n%s", n, out)
		}
		for _, want := range []string{"level=WARN", "budget=provider", "dropped=1", "limit=ProviderLogouts", "cap=2"} {
			if !strings.Contains(out, want) {
				t.Errorf("the warning lacks %q:\n%s", want, out)
			}
		}
		now = now.Add(time.Minute)
		if err := revs.Revoke(ctx, session.Match{Issuer: storetest.Issuer, SID: "full-5", At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "dropped=3") {
			t.Errorf("the second warning does not count the drops since the first:\n%s", logs.String())
		}
	})
}
