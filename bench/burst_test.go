package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// burstTokens is how many back-channel logout tokens the provider sends
// in BenchmarkBackchannelBurst: every session of a site ended at once.
const burstTokens = 10_000

// burstWorkers is how many of the provider's requests are in flight at
// once during the burst.
const burstWorkers = 8

// burstLogouts is how many users' own logouts the cookie store's
// revocation list holds next to the burst's, its default budget for
// them: 100,000 entries in all that every request is checked against.
const burstLogouts = 100_000

// burstSID is the sid of the i-th session the burst ends.
func burstSID(i int) string { return fmt.Sprintf("burst-sid-%07d", i) }

// logoutTokens are the burst's tokens, signed once: RS256, typed
// logout+jwt, each for its own sid and with its own jti, valid for a day.
var logoutTokens = sync.OnceValue(func() []string {
	now := time.Now()
	out := make([]string, burstTokens)
	for i := range out {
		out[i] = signJWT("logout+jwt", map[string]any{
			"iss": issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(),
			"jti": fmt.Sprintf("burst-jti-%07d", i), "sid": burstSID(i),
			"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
		})
	}
	return out
})

// BenchmarkBackchannelBurst is a provider ending every session of a site
// at once: 10,000 back-channel logout tokens, 8 in flight at a time, to
// an application with the cookie store and with the memory store (which
// holds the 10,000 sessions the tokens end). It reports the rate
// (tokens/s). Then it times the signed-in request of a user the burst did
// not end, on that application and on a twin that saw no burst, in
// alternate batches of 50: after/before is their ratio. The cookie
// store's revocation list holds 100,000 users' logouts besides the
// burst's 10,000 provider logouts, on both, so that the request is
// checked against 110,000 entries.
func BenchmarkBackchannelBurst(b *testing.B) {
	tokens := logoutTokens()
	for _, c := range []struct {
		name  string
		store func(b *testing.B) session.Store
	}{
		{"cookie", func(b *testing.B) session.Store {
			s, err := session.NewCookieStore(session.CookieOptions{Secure: true, Keys: keys})
			if err != nil {
				b.Fatal(err)
			}
			for i := range burstLogouts {
				if err := s.EndMatching(context.Background(), session.Match{ID: fmt.Sprintf("LOGGEDOUT%017d", i)}); err != nil {
					b.Fatal(err)
				}
			}
			return s
		}},
		{"memory", func(b *testing.B) session.Store {
			backend := session.NewMemoryBackend(session.MemoryOptions{})
			b.Cleanup(func() { backend.Close() })
			s, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys, Secure: true})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for i := range burstTokens {
				d := userData(now, i)
				d.SID = burstSID(i)
				savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return s.Save(w, r, d) })
			}
			return s
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			twin := func() (http.Handler, *http.Request) {
				store := c.store(b)
				d := sessionData(time.Now())
				cookie := savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
				return newMiddleware(b, store, newFakeProvider()).Handler(app), authRequest(cookie)
			}
			clean, cleanReq := twin()
			bursted, burstedReq := twin()
			// The first token fetches the key set, untimed.
			if status := backchannel(bursted, tokens[0]); status != http.StatusOK {
				b.Fatalf("back-channel logout: %d", status)
			}
			var next atomic.Int64
			next.Store(1)
			var failed atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for range burstWorkers {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(len(tokens)); i = next.Add(1) - 1 {
						if backchannel(bursted, tokens[i]) != http.StatusOK {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			took := time.Since(start)
			if failed.Load() != 0 {
				b.Fatalf("%d of %d logout tokens refused", failed.Load(), len(tokens))
			}
			rate := float64(len(tokens)-1) / took.Seconds()

			w := newDiscardWriter()
			req := new(http.Request)
			batch := func(h http.Handler, tmpl *http.Request) time.Duration {
				t0 := time.Now()
				for range 50 {
					*req = *tmpl
					w.reset()
					h.ServeHTTP(w, req)
					if w.status != http.StatusNoContent || len(w.h["Set-Cookie"]) != 0 {
						b.Fatalf("status %d, Set-Cookie %q", w.status, w.h["Set-Cookie"])
					}
				}
				return time.Since(t0)
			}
			// The burst's garbage is collected first, and each twin goes
			// first every other time.
			runtime.GC()
			var before, after time.Duration
			odd := false
			for b.Loop() {
				if odd {
					after += batch(bursted, burstedReq)
					before += batch(clean, cleanReq)
				} else {
					before += batch(clean, cleanReq)
					after += batch(bursted, burstedReq)
				}
				odd = !odd
			}
			n := float64(50 * b.N)
			metrics := map[string]float64{
				"tokens/s":      rate,
				"burst-s":       took.Seconds(),
				"before-ns/req": float64(before.Nanoseconds()) / n,
				"after-ns/req":  float64(after.Nanoseconds()) / n,
				"after/before":  float64(after) / float64(before),
			}
			for k, v := range metrics {
				b.ReportMetric(v, k)
			}
			record(b, metrics) // once per run: the benchmark uses b.Loop
		})
	}
}

// backchannel posts one logout token to h's back-channel logout route and
// returns the status.
func backchannel(h http.Handler, token string) int {
	form := url.Values{"logout_token": {token}}.Encode()
	r := httptest.NewRequest(http.MethodPost, appURL+"/auth/backchannel-logout", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}
