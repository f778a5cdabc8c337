package bench

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// footprintSessions is how many sessions the memory store holds for
// BenchmarkMemoryFootprint.
const footprintSessions = 100_000

// BenchmarkMemoryFootprint fills the in-memory store with 100,000
// sessions, each of its own user with its own tokens, as logins would, and
// reports the heap they take (after GC) per session, next to the raw bytes
// of their tokens and the store's own estimate (MemoryBackend.Size, what
// MemoryOptions.MaxBytes bounds). One op is the whole fill.
func BenchmarkMemoryFootprint(b *testing.B) {
	base := tokens()
	var heap, raw, estimate float64
	req := httptest.NewRequest(http.MethodGet, appURL+"/", nil)
	w := newDiscardWriter()
	for b.Loop() {
		before := liveHeap()
		// The default bounds: they must hold 100,000 sessions.
		backend := session.NewMemoryBackend(session.MemoryOptions{SweepInterval: -1})
		store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys, Secure: true})
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		var tokenBytes int
		for i := range footprintSessions {
			d := sessionData(now)
			d.ID = ""
			n := strconv.Itoa(i)
			d.Subject = subject + "-" + n
			d.SID = sid[:len(sid)-len(n)] + n
			d.Email = "user" + n + "@example.com"
			d.IDToken = distinct(base.IDToken, i)
			d.AccessToken = distinct(base.AccessToken, i)
			d.RefreshToken = distinct(base.RefreshToken, i)
			tokenBytes += len(d.IDToken) + len(d.AccessToken) + len(d.RefreshToken)
			w.reset()
			if err := store.Save(w, req, d); err != nil {
				b.Fatal(err)
			}
		}
		if backend.Len() != footprintSessions {
			b.Fatalf("the store holds %d sessions, want %d", backend.Len(), footprintSessions)
		}
		heap = float64(liveHeap()-before) / footprintSessions
		raw = float64(tokenBytes) / footprintSessions
		estimate = float64(backend.Size()) / footprintSessions
		runtime.KeepAlive(store)
		backend.Close()
	}
	budget := 1.25*raw + 1024
	b.ReportMetric(heap, "heap-B/session")
	b.ReportMetric(raw, "token-B/session")
	b.ReportMetric(heap/budget, "of-budget")
	b.ReportMetric(estimate, "estimate-B/session")
	b.ReportMetric(heap/estimate, "heap/estimate")
	record(b, map[string]float64{"heap-B/session": heap, "token-B/session": raw, "of-budget": heap / budget,
		"estimate-B/session": estimate, "heap/estimate": heap / estimate})
}

// distinct returns a copy of token, of the same length, that differs in a
// few characters for each i: every session has tokens of its own.
func distinct(token string, i int) string {
	b := []byte(token)
	n := strconv.AppendInt(nil, int64(i), 36)
	copy(b[len(b)-len(n)-1:], n)
	return string(b)
}

// liveHeap returns the bytes of live heap objects, after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
