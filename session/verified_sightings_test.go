package session

import (
	"errors"
	"net/http"
	"testing"
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
		if got := s.verified.sightings.find(fp); !got.found || got.receipt.Valid() != (i == 1) {
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
	if got := s.verified.sightings.find(fp); !got.found || !got.receipt.Valid() {
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

// The sightings take an eighth of the budget, counted in it.
func TestCookieStoreCacheCountsItsSightings(t *testing.T) {
	for _, budget := range []int{64 << 10, 8 << 20, 100 << 20} {
		c := newVerifiedCache(budget)
		if got := c.sightings.size(); got > budget/sightingBudgetShare || got <= budget/sightingBudgetShare/2 {
			t.Errorf("budget %d: the sightings take %d bytes", budget, got)
		}
		if c.sightings.size()+2*c.genSize > budget {
			t.Errorf("budget %d: sightings %d and generations of %d exceed it", budget, c.sightings.size(), c.genSize)
		}
	}
}
