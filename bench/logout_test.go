package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// logoutForm is the body of the sign-out button's POST.
const logoutForm = "return_to=%2Faccount"

// body is a request body that can be read again after reset.
type body struct{ strings.Reader }

func (*body) Close() error { return nil }

func (b *body) reset() { b.Reset(logoutForm) }

// logoutRequest is the sign-out button's same-origin POST, carrying
// cookie.
func logoutRequest(cookie string) (*http.Request, *body) {
	b := new(body)
	b.reset()
	r := httptest.NewRequest(http.MethodPost, appURL+"/auth/logout", nil)
	r.Body = b
	r.ContentLength = int64(len(logoutForm))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", appURL)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Cookie", cookie)
	return r, b
}

// logoutBatch is how many sessions a server-side store holds for the
// logout benchmark; they are put back, untimed, when all are logged out.
const logoutBatch = 1024

// cookieBatch is how many cookie values the logout benchmark verifies
// ahead, untimed: few enough for the cookie store's default cache.
const cookieBatch = 256

// BenchmarkLogout times logout's local work with each store: read the
// session, delete it and expire its cookies, and build the request that
// sends the browser to the provider's end_session endpoint (RP-Initiated
// Logout, which makes no call from the server).
func BenchmarkLogout(b *testing.B) {
	// The cookie store keeps the values it verified: a browser that signs
	// out has usually just sent the same cookie, which logout then finds
	// verified ("cookie"). "cookie-unseen" is a value never seen before.
	cookie := func(b *testing.B, warm bool) {
		store, err := session.NewCookieStore(session.CookieOptions{Secure: true, Keys: keys})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		reqs := make([]*http.Request, cookieBatch)
		bodies := make([]*body, cookieBatch)
		// A logged-out session's cookie opens nothing any more: each
		// batch is of new sessions. When warm, each value is loaded
		// twice first: the cache keeps a value from the second time it
		// is seen, as a browser's pages send it before sign-out.
		batch := 0
		refill := func() {
			for i := range reqs {
				d := sessionData(now)
				d.ID = fmt.Sprintf("BENCHLOGOUT%07d%08d", batch, i)
				cookie := savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
				reqs[i], bodies[i] = logoutRequest(cookie)
				for range 2 * boolInt(warm) {
					if d, err := store.Load(reqs[i]); d == nil || err != nil {
						b.Fatalf("Load = %v, %v", d, err)
					}
				}
			}
			batch++
		}
		refill()
		logout(b, newMiddleware(b, store, nil).Handler(app), reqs, bodies, refill)
	}
	b.Run("cookie", func(b *testing.B) { cookie(b, true) })
	b.Run("cookie-unseen", func(b *testing.B) { cookie(b, false) })
	server := func(b *testing.B, backend session.Backend) {
		store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys, Secure: true})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		sessions := make([]*session.Data, logoutBatch)
		reqs := make([]*http.Request, logoutBatch)
		bodies := make([]*body, logoutBatch)
		for i := range sessions {
			d := sessionData(now)
			d.ID = fmt.Sprintf("BENCHLOGOUT%015d", i)
			sessions[i] = d
			cookie := savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
			reqs[i], bodies[i] = logoutRequest(cookie)
		}
		refill := func() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, appURL+"/", nil)
			uncountedRedis(b, func() {
				for _, d := range sessions {
					if err := store.Save(w, r, d); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		logout(b, newMiddleware(b, store, nil).Handler(app), reqs, bodies, refill)
	}
	b.Run("memory", func(b *testing.B) {
		backend := session.NewMemoryBackend(session.MemoryOptions{})
		b.Cleanup(func() { backend.Close() })
		server(b, backend)
	})
	b.Run("redis", func(b *testing.B) {
		server(b, newRedisBackend(b))
		reportRedis(b)
	})
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// logout signs out with each request in turn; when they are used up, it
// calls refill (untimed), when not nil, to put their sessions back.
func logout(b *testing.B, h http.Handler, reqs []*http.Request, bodies []*body, refill func()) {
	w := newDiscardWriter()
	req := new(http.Request)
	i := 0
	calls := providerCalls.Load()
	defer func() {
		if n := providerCalls.Load() - calls; n != 0 {
			b.Fatalf("logout called the provider %d times: it must be local work only", n)
		}
	}()
	countingRedis(b)
	measure(b, func() {
		if i == len(reqs) {
			i = 0
			if refill != nil {
				untimed(b, refill)
			}
		}
		*req = *reqs[i]
		bodies[i].reset()
		i++
		w.reset()
		h.ServeHTTP(w, req)
		loc := w.h.Get("Location")
		if w.status != http.StatusSeeOther || !strings.HasPrefix(loc, issuer+"/logout?") || !strings.Contains(loc, "id_token_hint=") {
			b.Fatalf("logout answered %d, Location %q", w.status, loc)
		}
	})
}
