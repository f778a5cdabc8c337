package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

func TestCookieStoreCacheServesVerifiedValues(t *testing.T) {
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(6<<10))
	if len(cookies) < 2 {
		t.Fatalf("want a chunked session, got %d cookie(s)", len(cookies))
	}
	// The second request with the value puts it in the cache.
	s.Load(requestWith(cookies...))
	first, err := s.Load(requestWith(cookies...))
	if err != nil || first == nil {
		t.Fatalf("Load = %v, %v", first, err)
	}
	if !cachedIn(s, partsOf(cookies)) {
		t.Fatal("a verified value was not cached")
	}
	// The caller owns what Load returns: changing it changes nothing for
	// the next request.
	first.Email = "changed@example.com"
	first.LastSeen = first.LastSeen.Add(time.Hour)
	second, err := s.Load(requestWith(cookies...))
	if err != nil || second == nil || second.Email != "u1@example.com" || !second.LastSeen.Equal(testNow) {
		t.Fatalf("second Load: %v; want the session as saved", err)
	}
	second.Email = "changed@example.com"
	third, err := s.Load(requestWith(cookies...))
	if err != nil || third == nil || third.Email != "u1@example.com" || third == second {
		t.Fatalf("third Load: %v; want a fresh copy of the session as saved", err)
	}
}

func TestCookieStoreCacheKeepsChecks(t *testing.T) {
	now := testNow
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	cookies := saved(t, s, sampleData(100))
	if d, _ := s.Load(requestWith(cookies...)); d == nil {
		t.Fatal("no session")
	}
	// Revocation is checked on a cached value.
	s.EndMatching(context.Background(), Match{Issuer: "https://op.example", SID: "s1", At: testNow, Until: testNow.Add(time.Hour)})
	if d, err := s.Load(requestWith(cookies...)); d != nil || err != nil {
		t.Fatalf("a revoked session from the cache = %v, %v; want none", d, err)
	}
	// So is expiry.
	cookies = saved(t, s, sampleData(100))
	if d, _ := s.Load(requestWith(cookies...)); d != nil {
		t.Fatal("a session created before the revocation came back")
	}
	later := sampleData(100)
	later.Created = testNow.Add(time.Second)
	cookies = saved(t, s, later)
	if d, _ := s.Load(requestWith(cookies...)); d == nil {
		t.Fatal("no session")
	}
	now = later.Expires
	if d, err := s.Load(requestWith(cookies...)); d != nil || err != nil {
		t.Fatalf("an expired session from the cache = %v, %v; want none", d, err)
	}
}

func TestCookieStoreCacheRejectsTampering(t *testing.T) {
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(6<<10))
	other := saved(t, s, sampleData(6<<10))
	for _, c := range [][]*http.Cookie{cookies, other} {
		if d, _ := s.Load(requestWith(c...)); d == nil {
			t.Fatal("no session")
		}
	}
	flip := func(v string) string { b := []byte(v); b[len(b)-5] ^= 1; return string(b) }
	for name, tc := range map[string][]*http.Cookie{
		"first chunk of one, rest of another": {cookies[0], other[1]},
		"rest changed":                        {cookies[0], {Name: cookies[1].Name, Value: flip(cookies[1].Value)}},
		"rest cut":                            {cookies[0], {Name: cookies[1].Name, Value: cookies[1].Value[:len(cookies[1].Value)-4]}},
		"rest extended":                       {cookies[0], {Name: cookies[1].Name, Value: cookies[1].Value + "AAAA"}},
		"first chunk only":                    cookies[:1],
	} {
		t.Run(name, func(t *testing.T) {
			d, err := s.Load(requestWith(tc...))
			if d != nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load = %v, %v; want no session and ErrInvalid", d, err)
			}
		})
	}
	if d, _ := s.Load(requestWith(cookies...)); d == nil {
		t.Fatal("a tampered request evicted the genuine value")
	}
}

func TestCookieStoreCacheForgetsReplacedAndDeletedValues(t *testing.T) {
	s := newTestStore(t, testKey1)
	d := sampleData(100)
	cookies := saved(t, s, d)
	s.Load(requestWith(cookies...))
	s.Load(requestWith(cookies...))
	if !cachedIn(s, partsOf(cookies)) {
		t.Fatal("a value seen twice was not cached")
	}
	rec := httptest.NewRecorder()
	if err := s.Save(rec, requestWith(cookies...), d); err != nil {
		t.Fatal(err)
	}
	if cachedIn(s, partsOf(cookies)) {
		t.Fatal("Save left the replaced value in the cache")
	}
	cookies = saved(t, s, d)
	s.Load(requestWith(cookies...))
	s.Load(requestWith(cookies...))
	if !cachedIn(s, partsOf(cookies)) {
		t.Fatal("a value seen twice was not cached")
	}
	s.Delete(httptest.NewRecorder(), requestWith(cookies...), nil)
	if cachedIn(s, partsOf(cookies)) {
		t.Fatal("Delete left the value in the cache")
	}
}

func TestCookieStoreCacheIsBounded(t *testing.T) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, CacheSize: 64 << 10, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	var all [][]*http.Cookie
	for range 100 {
		c := saved(t, s, sampleData(2<<10))
		all = append(all, c)
		if d, _ := s.Load(requestWith(c...)); d == nil {
			t.Fatal("no session")
		}
		s.verified.mu.RLock()
		size, n := s.verified.curSize, len(s.verified.cur)+len(s.verified.old)
		s.verified.mu.RUnlock()
		if size > 32<<10 || n*(2<<10) > 64<<10 {
			t.Fatalf("the cache holds %d entries, %d bytes in its current generation; want at most 64 KiB in all", n, size)
		}
	}
	// Values dropped from the cache still load, the long way.
	if d, _ := s.Load(requestWith(all[0]...)); d == nil {
		t.Fatal("an evicted value no longer loads")
	}
	// A value larger than a generation is not cached at all.
	big := saved(t, s, sampleData(12<<10))
	if d, _ := s.Load(requestWith(big...)); d == nil || cachedIn(s, partsOf(big)) {
		t.Fatalf("a 12 KB session: %v, cached %v", d, cachedIn(s, partsOf(big)))
	}
}

func TestCookieStoreCacheOff(t *testing.T) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, CacheSize: -1, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	cookies := saved(t, s, sampleData(100))
	for range 2 {
		if d, err := s.Load(requestWith(cookies...)); d == nil || err != nil {
			t.Fatalf("Load = %v, %v", d, err)
		}
	}
	if s.verified != nil {
		t.Fatal("a cache with CacheSize -1")
	}
}

func TestCookieStoreCacheConcurrent(t *testing.T) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, CacheSize: 32 << 10, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	var sessions [][]*http.Cookie
	for range 8 {
		sessions = append(sessions, saved(t, s, sampleData(3<<10)))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				c := sessions[(g+i)%len(sessions)]
				d, err := s.Load(requestWith(c...))
				if d == nil || err != nil {
					t.Errorf("Load = %v, %v", d, err)
					return
				}
				d.Email = "mine"
				if i%50 == 0 {
					s.Delete(httptest.NewRecorder(), requestWith(c...), nil)
				}
			}
		}()
	}
	wg.Wait()
}

// partsOf returns the chunk values of cookies, in order.
func partsOf(cookies []*http.Cookie) []string {
	var parts []string
	for _, c := range cookies {
		parts = append(parts, c.Value)
	}
	return parts
}
