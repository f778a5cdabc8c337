package session

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
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
			// The cache may fill its budget; besides it, the codec's
			// pooled buffers (a few sets of 15 KB) stay live.
			const pooled = 128 << 10
			if grown > budget+pooled {
				t.Fatalf("the cache's live heap grew by %d KiB after %d padded requests; the budget is %d KiB, and %d KiB of pooled buffers", grown>>10, tc.rounds*len(headers), budget>>10, pooled>>10)
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

// The cache counts what its entries really take on the heap, the
// allocator's rounding of each string and struct included, so that its
// budget bounds the memory: entries of a first chunk of 3,800 bytes (a
// 4,096-byte allocation), a second of 1,232 and a session of 2,778, as a
// real two-chunk cookie has.
func TestVerifiedCacheCountsTheHeapItTakes(t *testing.T) {
	const entries = 2000
	c := newVerifiedCache(1 << 30)
	mk := func(i, n int) string {
		b := []byte(strings.Repeat("v", n))
		copy(b, strconv.Itoa(i)+"-")
		return string(b)
	}
	before := liveHeap()
	for i := range entries {
		d := sampleData(2600)
		d.ID = NewID()
		raw, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		decoded := new(Data)
		if err := decoded.UnmarshalBinary(raw); err != nil {
			t.Fatal(err)
		}
		parts := []string{mk(i, 3800), mk(i, 1232)}
		c.put(c.fingerprint(parts), parts, clone(decoded), len(raw))
	}
	after := liveHeap()
	counted := c.curSize
	for _, e := range c.old {
		counted += e.size
	}
	if len(c.cur)+len(c.old) != entries {
		t.Fatalf("the cache holds %d entries, want %d", len(c.cur)+len(c.old), entries)
	}
	grown := int64(after) - int64(before)
	t.Logf("%d entries: heap %d KiB, counted %d KiB", entries, grown>>10, counted>>10)
	if grown > int64(counted) {
		t.Fatalf("the entries take %d KiB of heap and the cache counts %d KiB", grown>>10, counted>>10)
	}
	runtime.KeepAlive(c)
}
