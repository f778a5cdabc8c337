package bench

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/endsession/endsession/session"
)

// userCounts are the numbers of distinct users whose cookies the
// many-users cases cycle through, one request each in turn.
var userCounts = []int{1_000, 100_000, 1_000_000}

// usersWindow is the most cookies a many-users case keeps at once. Past
// it (1,000,000 cookie-store users would take 5 GB of Cookie headers),
// the case keeps the last usersWindow users' cookies and makes the next
// window's, untimed, when it reaches its end: every request still
// carries a value the store has not seen for at least usersWindow
// requests, as when that many users come and go.
const usersWindow = 100_000

// BenchmarkUsers serves the authenticated request of many distinct users
// in turn, as a real site does: each request carries the next user's
// cookie, so that the cookie store's cache of verified values (8 MiB,
// about 1,200 sessions by default) and the memory store's map see as
// many sessions as there are users. "uncached" is the cookie store with
// its cache off, over the same cookies: the bare cost of the cookie
// format, that the store with its cache must not exceed.
func BenchmarkUsers(b *testing.B) {
	for _, n := range userCounts {
		suffix := "-" + strconv.Itoa(n/1000) + "k"
		b.Run("endsession-cookie"+suffix, func(b *testing.B) {
			benchUsers(b, n, cookieUsers(b, session.CookieOptions{Secure: true, Keys: keys}))
		})
		b.Run("endsession-cookie-uncached"+suffix, func(b *testing.B) {
			benchUsers(b, n, cookieUsers(b, session.CookieOptions{Secure: true, Keys: keys, CacheSize: -1}))
		})
		if n <= usersWindow {
			b.Run("endsession-cookie-interleaved"+suffix, func(b *testing.B) {
				benchUsersInterleaved(b, n)
			})
		}
		b.Run("endsession-memory"+suffix, func(b *testing.B) {
			benchUsers(b, n, memoryUsers(b, n))
		})
		if n <= usersWindow {
			// gorilla's cookies are 6 KB, and 50 µs each to make; scs
			// keeps 6 KB of gob for each session.
			b.Run("gorilla-cookie"+suffix, func(b *testing.B) {
				benchUsers(b, n, gorillaUsers(b))
			})
			b.Run("scs-memory"+suffix, func(b *testing.B) {
				benchUsers(b, n, scsUsers(b, n))
			})
		}
	}
}

// A userStore makes user i's Cookie header and serves requests.
type userStore struct {
	h      http.Handler
	cookie func(i int) string
}

// cookieUsers is the cookie store: user i's cookie is its session,
// encrypted with a random IV, so that every user's value is its own.
func cookieUsers(b *testing.B, opts session.CookieOptions) userStore {
	store, err := session.NewCookieStore(opts)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	return userStore{
		h: newMiddleware(b, store, nil).Handler(app),
		cookie: func(i int) string {
			d := userData(now, i)
			return savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
		},
	}
}

// memoryUsers is the in-memory server store holding n sessions; user i's
// cookie is the signed identifier of session i. The sessions share their
// token strings, as the request's cost does not depend on them; the
// store's estimate counts them for each, so that MaxBytes is raised to
// hold 1,000,000 (the default, 1 GiB, holds 100,000 of 4 KB).
func memoryUsers(b *testing.B, n int) userStore {
	backend := session.NewMemoryBackend(session.MemoryOptions{MaxBytes: max(1<<30, int64(n)*8<<10)})
	b.Cleanup(func() { backend.Close() })
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys, Secure: true})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	cookies := make([]string, n)
	for i := range n {
		d := userData(now, i)
		cookies[i] = savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
	}
	if backend.Len() != n {
		b.Fatalf("the memory store holds %d of %d sessions", backend.Len(), n)
	}
	return userStore{
		h:      newMiddleware(b, store, nil).Handler(app),
		cookie: func(i int) string { return cookies[i] },
	}
}

// usersAhead is how far ahead of the clock the users' sessions are
// stamped: a request writes a session back when it was last written more
// than a minute before, and making 1,000,000 sessions takes minutes.
const usersAhead = time.Hour

// gorillaUsers is gorilla/sessions' CookieStore as setupGorilla has it:
// user i's cookie is its session's values, gob-encoded in securecookie
// with a random IV.
func gorillaUsers(b *testing.B) userStore {
	store := sessions.NewCookieStore(hashKey, blockKey)
	for _, c := range store.Codecs {
		c.(*securecookie.SecureCookie).MaxLength(gorillaMaxLength)
	}
	const cookieName = "session"
	now := time.Now()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, cookieName)
		if err != nil || s.IsNew {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		email, _ := s.Values["email"].(string)
		accessToken, _ := s.Values["access_token"].(string)
		use(w, email, accessToken)
	})
	return userStore{
		h: h,
		cookie: func(i int) string {
			d := userData(now, i)
			return savedCookies(b, func(w http.ResponseWriter, r *http.Request) error {
				s := sessions.NewSession(store, cookieName)
				for k, v := range sessionValues(now.Add(usersAhead)) {
					s.Values[k] = v
				}
				s.Values["id"], s.Values["sub"], s.Values["sid"], s.Values["email"] = d.ID, d.Subject, d.SID, d.Email
				return store.Save(r, w, s)
			})
		},
	}
}

// scsUsers is scs with its memory store as setupSCS has it, holding n
// sessions; user i's cookie is session i's token.
func scsUsers(b *testing.B, n int) userStore {
	store := memstore.New()
	b.Cleanup(store.StopCleanup)
	sm := scs.New()
	sm.Store = store
	now := time.Now()
	cookies := make([]string, n)
	for i := range n {
		ctx, err := sm.Load(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		d := userData(now, i)
		for k, v := range sessionValues(now.Add(usersAhead)) {
			sm.Put(ctx, k, v)
		}
		sm.Put(ctx, "id", d.ID)
		sm.Put(ctx, "sub", d.Subject)
		sm.Put(ctx, "sid", d.SID)
		sm.Put(ctx, "email", d.Email)
		token, _, err := sm.Commit(ctx)
		if err != nil {
			b.Fatal(err)
		}
		cookies[i] = sm.Cookie.Name + "=" + token
	}
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email := sm.GetString(r.Context(), "email")
		if email == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		use(w, email, sm.GetString(r.Context(), "access_token"))
	}))
	return userStore{h: h, cookie: func(i int) string { return cookies[i] }}
}

// userData is user i's session, stamped usersAhead from now.
func userData(now time.Time, i int) *session.Data {
	d := sessionData(now.Add(usersAhead))
	n := strconv.Itoa(i)
	d.ID = fmt.Sprintf("BENCHUSER%017d", i)
	d.Subject = subject + "-" + n
	d.SID = sid[:len(sid)-len(n)] + n
	d.Email = "user" + n + "@example.com"
	return d
}

// benchUsersInterleaved serves each of n users' requests to the cookie
// store with its cache and then to the same store with its cache off,
// timing each, so that the machine's load weighs on both alike, each
// first in turn: one op
// is one of each, and cached/uncached is the ratio of their times.
func benchUsersInterleaved(b *testing.B, n int) {
	cached := cookieUsers(b, session.CookieOptions{Secure: true, Keys: keys})
	uncached := cookieUsers(b, session.CookieOptions{Secure: true, Keys: keys, CacheSize: -1})
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = authRequest(cached.cookie(i))
	}
	w := newDiscardWriter()
	req := new(http.Request)
	// Each user has come once before, as in benchUsers.
	for _, r := range reqs {
		for _, h := range []http.Handler{cached.h, uncached.h} {
			*req = *r
			w.reset()
			h.ServeHTTP(w, req)
		}
	}
	runtime.GC()
	var tc, tu []time.Duration
	next := 0
	one := func(h http.Handler) time.Duration {
		*req = *reqs[next%n]
		w.reset()
		t0 := time.Now()
		h.ServeHTTP(w, req)
		d := time.Since(t0)
		if w.status != http.StatusNoContent || len(w.h["Set-Cookie"]) != 0 {
			b.Fatalf("status %d, Set-Cookie %q; want 204 and none", w.status, w.h["Set-Cookie"])
		}
		return d
	}
	measure(b, func() {
		// Whichever goes second finds the request's bytes in the CPU's
		// caches: each goes first every other time.
		if next%2 == 0 {
			tc = append(tc, one(cached.h))
			tu = append(tu, one(uncached.h))
		} else {
			tu = append(tu, one(uncached.h))
			tc = append(tc, one(cached.h))
		}
		next++
	})
	// Medians: on a shared machine a few requests are preempted for
	// milliseconds, which would weigh on the means of one side or the
	// other at random.
	mc, mu := medianDuration(tc), medianDuration(tu)
	metrics := map[string]float64{
		"cached/uncached": float64(mc) / float64(mu),
		"cached-p50-ns":   float64(mc.Nanoseconds()),
		"uncached-p50-ns": float64(mu.Nanoseconds()),
	}
	for k, v := range metrics {
		b.ReportMetric(v, k)
	}
	recordMore(b, metrics)
}

// medianDuration returns the median of d, which it sorts.
func medianDuration(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// benchUsers serves the users' requests in turn, n of them, each checked
// as in serve.
func benchUsers(b *testing.B, n int, s userStore) {
	window := min(n, usersWindow)
	reqs := make([]*http.Request, window)
	w := newDiscardWriter()
	req := new(http.Request)
	// Each user has come once before the clock starts (with 1,000,000
	// users, before each window of them), as on a server that has been
	// up for a while: the heap has grown to hold what the requests
	// allocate, and a value the cookie store sees is seen again. The
	// setup's garbage is collected; the collections the requests' own
	// allocations bring, over the live sessions, are timed.
	fill := func(first int) {
		for i := range reqs {
			reqs[i] = authRequest(s.cookie((first + i) % n))
		}
		for _, r := range reqs {
			*req = *r
			w.reset()
			s.h.ServeHTTP(w, req)
		}
		runtime.GC()
	}
	fill(0)
	next := 0
	measure(b, func() {
		if next%window == 0 && next > 0 && window < n {
			untimed(b, func() { fill(next % n) })
		}
		*req = *reqs[next%window]
		next++
		w.reset()
		s.h.ServeHTTP(w, req)
		if w.status != http.StatusNoContent {
			b.Fatalf("status %d, want %d", w.status, http.StatusNoContent)
		}
		if len(w.h["Set-Cookie"]) != 0 {
			b.Fatalf("a request that changed nothing wrote %q", w.h["Set-Cookie"])
		}
	})
}
