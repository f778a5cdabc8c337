package session

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/endsession/endsession/internal/cookiecodec"
)

// forgetEntries empties the cache's generations, as many other users'
// values would, leaving its sightings.
func forgetEntries(s *CookieStore) {
	s.verified.mu.Lock()
	defer s.verified.mu.Unlock()
	s.verified.cur, s.verified.old, s.verified.curSize = map[uint64]*verifiedEntry{}, map[uint64]*verifiedEntry{}, 0
}

// A value that the cache does not hold any more (a site with more users
// than it has room for) keeps the receipt of its second verification,
// which spares its HMAC (the codec's tests show it) and covers that value
// only: the same value with one byte changed between its first and last
// 64 bytes, of the same fingerprint, is refused.
func TestCookieStoreCacheKeepsReceiptsOfValuesItDoesNotHold(t *testing.T) {
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(3<<10))
	parts := partsOf(cookies)
	fp := s.verified.fingerprint(parts)
	for i := range 2 {
		if d, err := s.Load(requestWith(cookies...)); d == nil || err != nil {
			t.Fatalf("Load %d: session %v, %v", i+1, d != nil, err)
		}
		if got := s.verified.sightings.find(fp); !got.found || got.receipt.Valid() != (i == 1 && cookiecodec.ReceiptsOn()) {
			t.Fatalf("after verification %d: found %v, receipt %v", i+1, got.found, got.receipt.Valid())
		}
	}
	forgetEntries(s)
	if d, err := s.Load(requestWith(cookies...)); d == nil || err != nil || d.Subject != "u1" {
		t.Fatalf("Load on the receipt: session %v, %v", d != nil, err)
	}

	// One byte changed in the middle of the first chunk, for a valid
	// base64 character.
	v := []byte(cookies[0].Value)
	mid := len(v) / 2
	v[mid] = map[bool]byte{true: 'B', false: 'A'}[v[mid] == 'A']
	tampered := append([]*http.Cookie{{Name: cookies[0].Name, Value: string(v)}}, cookies[1:]...)
	if s.verified.fingerprint(partsOf(tampered)) != fp {
		t.Fatal("the tampered value has another fingerprint: the test checks nothing")
	}
	forgetEntries(s)
	if d, err := s.Load(requestWith(tampered...)); d != nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load of a tampered value of the same fingerprint: session %v, %v, want ErrInvalid", d != nil, err)
	}
	if got := s.verified.sightings.find(fp); !got.found || got.receipt.Valid() != cookiecodec.ReceiptsOn() {
		t.Fatal("a refused value changed the genuine value's sighting")
	}
}

// Deleting a value forgets its sighting with its entry.
func TestCookieStoreCacheForgetsSightingsOfDeletedValues(t *testing.T) {
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(100))
	for range 2 {
		s.Load(requestWith(cookies...))
	}
	fp := s.verified.fingerprint(partsOf(cookies))
	if !s.verified.sightings.find(fp).found {
		t.Fatal("no sighting after two loads")
	}
	s.verified.remove(partsOf(cookies))
	if s.verified.sightings.find(fp).found {
		t.Fatal("the removed value's sighting stayed")
	}
}

// The sightings take an eighth of the budget, counted in it (one bucket
// at least, for budgets under 512 bytes).
func TestCookieStoreCacheCountsItsSightings(t *testing.T) {
	for _, budget := range []int{1, 100, 1 << 10, 64 << 10, 8 << 20, 100 << 20} {
		c := newVerifiedCache(budget)
		got := c.sightings.size()
		if got > max(2*sightingBytes, budget/sightingBudgetShare) || budget >= 4<<10 && got <= budget/sightingBudgetShare/2 {
			t.Errorf("budget %d: the sightings take %d bytes", budget, got)
		}
		if c.genSize < 0 || got+2*c.genSize > max(budget, got) {
			t.Errorf("budget %d: sightings %d and generations of %d exceed it", budget, got, c.genSize)
		}
	}
}

// A cache that was full and then emptied by logouts, down to one idle
// entry in its old generation, admits new users again: how soon a value
// must come back to be admitted follows the bytes the cache holds, not
// whether a generation was ever dropped.
func TestCookieStoreCacheAdmitsAgainAfterLogoutsEmptyIt(t *testing.T) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, CacheSize: 64 << 10, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	newUser := func() []*http.Cookie {
		d := sampleData(100)
		d.ID = NewID()
		return saved(t, s, d)
	}
	var users [][]*http.Cookie
	for range 60 {
		c := newUser()
		users = append(users, c)
		for range 2 {
			s.Load(requestWith(c...))
		}
	}
	if len(s.verified.old) == 0 {
		t.Fatal("the cache never dropped a generation: the test checks nothing")
	}
	kept := false
	for _, c := range users {
		if e := s.verified.old[s.verified.fingerprint(partsOf(c))]; e != nil && !kept {
			kept = true // one idle entry left in the old generation
			continue
		}
		s.verified.remove(partsOf(c))
	}
	if !kept || len(s.verified.old) != 1 || len(s.verified.cur) != 0 {
		t.Fatalf("old %d, current %d entries: want 1 and 0", len(s.verified.old), len(s.verified.cur))
	}
	fresh := make([][]*http.Cookie, 10)
	for i := range fresh {
		fresh[i] = newUser()
	}
	for range 5 {
		for _, c := range fresh {
			if d, _ := s.Load(requestWith(c...)); d == nil {
				t.Fatal("no session")
			}
		}
	}
	for i, c := range fresh {
		if !cachedIn(s, partsOf(c)) {
			t.Fatalf("user %d of 10, seen 5 times in a cache all but empty, was not admitted", i+1)
		}
	}
}
