package session

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// liveHeap returns the bytes of live objects after a full collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestCookieStoreCacheHeapStaysWithinBudget measures the live heap the
// verified-cookie cache keeps against its budget, under requests that
// carry a large padding cookie next to the session: nothing the cache
// keeps may hold on to the request's Cookie header.
func TestCookieStoreCacheHeapStaysWithinBudget(t *testing.T) {
	const budget = 1 << 20
	const padding = 256 << 10
	for _, tc := range []struct {
		name     string
		idToken  int // session size
		sessions int // distinct sessions, more than the cache holds
		rounds   int // padded requests for each session, in turn
	}{
		// Cycling through more sessions than a generation holds, each
		// is found in the old generation and moves to the current one.
		{name: "one chunk, moved between generations", idToken: 1 << 10, sessions: 200, rounds: 3},
		// The chunks after the first are kept as one string.
		{name: "two chunks", idToken: 3 << 10, sessions: 200, rounds: 1},
		// Many small entries: the count is bounded too.
		{name: "small entries", idToken: 10, sessions: 2000, rounds: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, CacheSize: budget, Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			headers := make([]string, tc.sessions)
			for i := range headers {
				d := sampleData(tc.idToken)
				d.ID = NewID()
				headers[i] = cookieHeaderOf(saved(t, s, d))
			}
			before := liveHeap() // the store and the browsers' cookies
			for _, h := range headers {
				load(t, s, h)
			}
			for range tc.rounds {
				for _, h := range headers {
					// A fresh padding per request, as each request's
					// header is.
					load(t, s, "pad="+strings.Repeat("p", padding)+"; "+h)
				}
			}
			after := liveHeap()
			runtime.KeepAlive(s)
			runtime.KeepAlive(headers)
			grown := int64(after) - int64(before)
			t.Logf("live heap grown by %d KiB", grown>>10)
			if grown > budget {
				t.Fatalf("the cache's live heap grew by %d KiB after %d padded requests; the budget is %d KiB", grown>>10, tc.rounds*len(headers), budget>>10)
			}
		})
	}
}

func load(t *testing.T, s *CookieStore, cookieHeader string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", cookieHeader)
	if d, err := s.Load(r); d == nil || err != nil {
		t.Fatalf("Load = %v, %v", d, err)
	}
}

func cookieHeaderOf(cookies []*http.Cookie) string {
	var b strings.Builder
	for i, c := range cookies {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Name + "=" + c.Value)
	}
	return b.String()
}
