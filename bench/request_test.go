package bench

import (
	"context"
	"encoding/gob"
	"net/http"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/endsession/endsession/session"
)

func init() {
	// gorilla/sessions and scs keep values in interfaces, which gob
	// encodes only for registered types.
	gob.Register(time.Time{})
}

// A requestCase serves the authenticated request with one session library.
type requestCase struct {
	name string
	// setup returns the handler, which reads the user's email and access
	// token from the session, and the request carrying that session.
	setup func(tb testing.TB) (http.Handler, *http.Request)
}

var requestCases = []requestCase{
	{"bare", setupBare},
	{"endsession-cookie", setupCookie},
	{"endsession-cookie-uncached", setupCookieUncached},
	{"endsession-memory", setupMemory},
	{"endsession-redis", setupRedis},
	{"gorilla-cookie", setupGorilla},
	{"scs-memory", setupSCS},
}

// BenchmarkRequest serves one authenticated request, carrying the same
// session, with each library: the per-request cost of being logged in.
func BenchmarkRequest(b *testing.B) {
	for _, c := range requestCases {
		b.Run(c.name, func(b *testing.B) {
			h, req := c.setup(b)
			serve(b, h, req, http.StatusNoContent)
			reportRedis(b)
		})
	}
}

// serve times h on a copy of tmpl, made afresh for every request (some
// libraries change the request they get), and checks the status and that
// nothing was written back: the session did not change.
func serve(b *testing.B, h http.Handler, tmpl *http.Request, want int) {
	w := newDiscardWriter()
	req := new(http.Request)
	countingRedis(b)
	measure(b, func() {
		*req = *tmpl
		w.reset()
		h.ServeHTTP(w, req)
		if w.status != want {
			b.Fatalf("status %d, want %d", w.status, want)
		}
		if len(w.h["Set-Cookie"]) != 0 {
			b.Fatalf("a request that changed nothing wrote %q", w.h["Set-Cookie"])
		}
	})
}

func setupBare(tb testing.TB) (http.Handler, *http.Request) {
	_, req := setupCookie(tb)
	return bare, req
}

// setupCookie is endsession's default: the session in chunked, encrypted
// cookies.
func setupCookie(tb testing.TB) (http.Handler, *http.Request) {
	return cookieStore(tb, session.CookieOptions{Secure: true, Keys: keys})
}

// setupCookieUncached is the cookie store without its cache of verified
// values: every request decrypts and decodes, as the first request with a
// new cookie value does.
func setupCookieUncached(tb testing.TB) (http.Handler, *http.Request) {
	return cookieStore(tb, session.CookieOptions{Secure: true, Keys: keys, CacheSize: -1})
}

func cookieStore(tb testing.TB, opts session.CookieOptions) (http.Handler, *http.Request) {
	store, err := session.NewCookieStore(opts)
	if err != nil {
		tb.Fatal(err)
	}
	d := sessionData(time.Now())
	cookie := savedCookies(tb, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
	return newMiddleware(tb, store, nil).Handler(app), authRequest(cookie)
}

// setupMemory is endsession's server-side store with the in-memory
// backend: the browser holds a signed identifier.
func setupMemory(tb testing.TB) (http.Handler, *http.Request) {
	backend := session.NewMemoryBackend(session.MemoryOptions{})
	tb.Cleanup(func() { backend.Close() })
	return setupServer(tb, backend)
}

// setupRedis is endsession's server-side store in Redis on loopback.
func setupRedis(tb testing.TB) (http.Handler, *http.Request) {
	return setupServer(tb, newRedisBackend(tb))
}

func setupServer(tb testing.TB, backend session.Backend) (http.Handler, *http.Request) {
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys, Secure: true})
	if err != nil {
		tb.Fatal(err)
	}
	d := sessionData(time.Now())
	cookie := savedCookies(tb, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
	return newMiddleware(tb, store, nil).Handler(app), authRequest(cookie)
}

// gorillaMaxLength lets gorilla's CookieStore read this session: its
// encoded cookie is over securecookie's default cap of 4096 bytes, which is
// also what browsers keep of one cookie. In a browser this session would
// not fit in gorilla's cookie at all.
const gorillaMaxLength = 16 << 10

// setupGorilla is gorilla/sessions' CookieStore with its defaults (gob in
// securecookie, HMAC-SHA256 and AES-256), but for MaxLength.
func setupGorilla(tb testing.TB) (http.Handler, *http.Request) {
	store := sessions.NewCookieStore(hashKey, blockKey)
	for _, c := range store.Codecs {
		c.(*securecookie.SecureCookie).MaxLength(gorillaMaxLength)
	}
	const cookieName = "session"
	cookie := savedCookies(tb, func(w http.ResponseWriter, r *http.Request) error {
		s := sessions.NewSession(store, cookieName)
		for k, v := range sessionValues(time.Now()) {
			s.Values[k] = v
		}
		return store.Save(r, w, s)
	})
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
	return h, authRequest(cookie)
}

// setupSCS is scs with its defaults: the memory store, gob-encoded.
func setupSCS(tb testing.TB) (http.Handler, *http.Request) {
	store := memstore.New()
	tb.Cleanup(store.StopCleanup)
	sm := scs.New()
	sm.Store = store
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range sessionValues(time.Now()) {
		sm.Put(ctx, k, v)
	}
	token, _, err := sm.Commit(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		use(w, sm.GetString(r.Context(), "email"), sm.GetString(r.Context(), "access_token"))
	}))
	return h, authRequest(sm.Cookie.Name + "=" + token)
}
