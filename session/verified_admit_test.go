package session

import (
	"net/http"
	"testing"
	"time"
)

// A value seen once is not cached: with more users than the cache holds,
// most values are never seen again before they would be evicted, and
// copying each of them in would make every such request slower than no
// cache at all. The second time a value is seen, it is.
func TestCookieStoreCacheAdmitsValuesSeenTwice(t *testing.T) {
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(6<<10))
	if d, err := s.Load(requestWith(cookies...)); d == nil || err != nil {
		t.Fatalf("Load = %v, %v", d, err)
	}
	if cachedIn(s, partsOf(cookies)) {
		t.Fatal("a value seen once was cached")
	}
	if s.verified.curSize != 0 {
		t.Fatalf("a value seen once took %d bytes of the cache", s.verified.curSize)
	}
	if d, err := s.Load(requestWith(cookies...)); d == nil || err != nil {
		t.Fatalf("second Load = %v, %v", d, err)
	}
	if !cachedIn(s, partsOf(cookies)) {
		t.Fatal("a value seen twice was not cached")
	}
}

// Many users in turn, more than the cache's admission remembers: none of
// their values is cached, and the cache takes no memory.
func TestCookieStoreCacheSkipsValuesNotSeenAgainSoon(t *testing.T) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, CacheSize: 64 << 10, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	var all [][]*http.Cookie
	for range 4 * len(s.verified.seen) {
		d := sampleData(100)
		d.ID = NewID()
		all = append(all, saved(t, s, d))
	}
	for range 2 {
		for _, c := range all {
			if d, _ := s.Load(requestWith(c...)); d == nil {
				t.Fatal("no session")
			}
		}
	}
	s.verified.mu.RLock()
	n := len(s.verified.cur) + len(s.verified.old)
	s.verified.mu.RUnlock()
	// A value can be remembered past its slot's next use only by
	// chance; a few may be admitted, nothing like all of them.
	if n > len(all)/8 {
		t.Fatalf("%d of %d values seen only once in each of %d-value cycles were cached", n, len(all), len(all))
	}
}

// cachedIn reports whether s's cache holds the value made of parts.
func cachedIn(s *CookieStore, parts []string) bool {
	d, _ := s.verified.lookup(parts)
	return d != nil
}
