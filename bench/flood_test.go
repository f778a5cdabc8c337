package bench

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// floodSIDLen is the length of the made-up sids of the flood: the longest
// the front-channel route takes.
const floodSIDLen = session.MaxMatchLen

// frontchannelRequest is the unauthenticated request of a front-channel
// logout with the i-th made-up sid.
func frontchannelRequest(i int) *http.Request {
	sid := strconv.Itoa(i)
	sid = strings.Repeat("x", floodSIDLen-len(sid)) + sid
	q := url.Values{"iss": {issuer}, "sid": {sid}}
	r, _ := http.NewRequest(http.MethodGet, appURL+"/auth/frontchannel-logout?"+q.Encode(), nil)
	return r
}

// BenchmarkFrontchannelFlood floods the front-channel logout route of an
// application with the default cookie store with 100,000 distinct
// made-up sids of 255 bytes, as anyone can, and reports the live heap the
// flood left (flood-heap-MB). Its "request" case then times the
// signed-in request on that application and on a twin that saw no flood,
// in alternate batches of 50, so that the machine's load weighs on both
// alike: flooded-ns/req, clean-ns/req and their ratio. Its
// "frontchannel" case times one more front-channel request with the
// list full.
func BenchmarkFrontchannelFlood(b *testing.B) {
	twin := func() (http.Handler, *http.Request) {
		store, err := session.NewCookieStore(session.CookieOptions{Secure: true, Keys: keys})
		if err != nil {
			b.Fatal(err)
		}
		d := sessionData(time.Now())
		cookie := savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) })
		return newMiddleware(b, store, nil).Handler(app), authRequest(cookie)
	}
	clean, cleanReq := twin()
	flooded, floodedReq := twin()
	w := newDiscardWriter()
	sent := 0
	frontchannel := func() {
		w.reset()
		flooded.ServeHTTP(w, frontchannelRequest(sent))
		sent++
		if w.status != http.StatusOK {
			b.Fatalf("front-channel request %d: %d", sent, w.status)
		}
	}
	before := liveHeap()
	for sent < 100_000 {
		frontchannel()
	}
	grown := (float64(liveHeap()) - float64(before)) / 1e6

	b.Run("request", func(b *testing.B) {
		req := new(http.Request)
		batch := func(h http.Handler, tmpl *http.Request) time.Duration {
			start := time.Now()
			for range 50 {
				*req = *tmpl
				w.reset()
				h.ServeHTTP(w, req)
				if w.status != http.StatusNoContent || len(w.h["Set-Cookie"]) != 0 {
					b.Fatalf("status %d, Set-Cookie %q", w.status, w.h["Set-Cookie"])
				}
			}
			return time.Since(start)
		}
		var onClean, onFlooded time.Duration
		for b.Loop() {
			onClean += batch(clean, cleanReq)
			onFlooded += batch(flooded, floodedReq)
		}
		n := float64(50 * b.N)
		metrics := map[string]float64{
			"clean-ns/req":   float64(onClean.Nanoseconds()) / n,
			"flooded-ns/req": float64(onFlooded.Nanoseconds()) / n,
			"flooded/clean":  float64(onFlooded) / float64(onClean),
			"flood-heap-MB":  grown,
		}
		for k, v := range metrics {
			b.ReportMetric(v, k)
		}
		recordPlain(b, metrics)
	})
	b.Run("frontchannel/list-full", func(b *testing.B) { measure(b, frontchannel) })
}
