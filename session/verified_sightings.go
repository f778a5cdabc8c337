package session

import (
	"sync"
	"sync/atomic"

	"github.com/endsession/endsession/internal/cookiecodec"
)

// sightings remembers the values verified lately, by fingerprint, with
// when each was last verified and the receipt of that verification
// ([cookiecodec.Receipt]): 32 bytes a value, where the cache's entries
// take the whole value and its session. It serves the cache twice:
//
//   - Admission: a value is put in the cache only when it is verified
//     again soon (verifiedCache.remember says how soon).
//   - Values that the cache cannot hold, on a site with more users than
//     it has room for: their HMAC, two fifths of what decoding costs, is
//     replaced by the check of the receipt, a keyed hash of a third of
//     its cost. A value's first verification makes no receipt (a value
//     seen once pays nothing for it); its second makes one.
//
// The table has buckets of two slots; a value takes the slot of its own
// fingerprint or, in a full bucket, that of the value verified longer
// ago. A fingerprint that does not match the value (another value with
// the same first and last bytes) only fails the receipt's check: the
// HMAC then decides.
type sightings struct {
	slots []sighting // len is a power of two
	locks [64]sync.Mutex
	clock atomic.Uint32 // verifications so far; wraps
}

// A sighting is what the table keeps of a value.
type sighting struct {
	fp      uint64 // the value's fingerprint, never 0 in a used slot
	receipt cookiecodec.Receipt
	at      uint32 // the clock when it was last verified
}

// A seen is what the table tells of a value: found reports that it was
// verified before.
type seen struct {
	sighting
	found bool
}

// sightingBytes is the memory of one slot: the table takes an eighth of
// the cache's budget (32,768 slots of the default 8 MiB).
const (
	sightingBytes       = 32
	sightingBudgetShare = 8
)

// newSightings returns a table within budget bytes (one bucket, of 64
// bytes, at least).
func newSightings(budget int) *sightings {
	n := 2
	for n*2*sightingBytes <= budget {
		n *= 2
	}
	return &sightings{slots: make([]sighting, n)}
}

// size is the table's memory, for the cache's budget.
func (t *sightings) size() int { return len(t.slots) * sightingBytes }

// bucket returns the index of fp's first slot, and the lock that guards
// its bucket.
func (t *sightings) bucket(fp uint64) (int, *sync.Mutex) {
	i := int(fp>>1) & (len(t.slots) - 1) &^ 1
	return i, &t.locks[(i/2)%len(t.locks)]
}

// find returns what the table knows of the value of fingerprint fp.
func (t *sightings) find(fp uint64) seen {
	i, mu := t.bucket(fp)
	mu.Lock()
	defer mu.Unlock()
	for _, s := range t.slots[i : i+2] {
		if s.fp == fp {
			return seen{s, true}
		}
	}
	return seen{sighting: sighting{fp: fp}}
}

// verified records that the value of s (from find) has just been
// verified, with receipt r (or none), and reports whether it was verified
// before, and how many verifications ago.
func (t *sightings) verified(s seen, r cookiecodec.Receipt) (distance uint32, again bool) {
	now := t.clock.Add(1)
	i, mu := t.bucket(s.fp)
	mu.Lock()
	defer mu.Unlock()
	slot := &t.slots[i]
	switch other := &t.slots[i+1]; {
	case other.fp == s.fp:
		slot = other
	case slot.fp == s.fp:
	case slot.fp == 0:
	case other.fp == 0 || now-other.at > now-slot.at:
		slot = other
	}
	if slot.fp == s.fp && !r.Valid() {
		r = slot.receipt // verified on its receipt, or by a caller that asked for none
	}
	*slot = sighting{fp: s.fp, receipt: r, at: now}
	return now - s.at, s.found
}

// forget drops what the table knows of the value of fingerprint fp.
func (t *sightings) forget(fp uint64) {
	i, mu := t.bucket(fp)
	mu.Lock()
	defer mu.Unlock()
	for j := i; j < i+2; j++ {
		if t.slots[j].fp == fp {
			t.slots[j] = sighting{}
		}
	}
}
