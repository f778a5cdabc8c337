package session

import (
	"hash/maphash"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
)

// verifiedCache remembers cookie values that were authenticated and
// decrypted, with what they decoded to, so that a browser's next requests
// with the same cookie skip the base64, HMAC, AES and decoding: a value
// equal, byte for byte, to one that passed verification is just as
// authentic. Only what decoding would give is skipped; expiry and
// revocation are still checked on every request.
//
// Entries are keyed by the value's fingerprint, a 64-bit hash of its
// first and last bytes (a random IV and a MAC) under a seed drawn at
// random for the process, and the value is then compared in full. A
// lookup compares the request's value only with the value of the same
// fingerprint, which without the seed no one can aim at but by holding
// that value's IV and MAC, so its timing cannot be steered to reveal
// another session's cookie; and an attacker who could read a cookie this
// way could as well replay it. Two values of the same fingerprint only
// displace each other.
//
// Memory is bounded by two generations of at most half the budget each:
// when the current one is full it becomes the old one and the old one is
// dropped; an entry found in the old generation moves back to the current
// one. Saving over a value or deleting it removes it at once. Nothing the
// cache keeps is a slice of a request's Cookie header, whose other cookies
// could be far larger than the entry: the first chunk and the rest are
// copies, made once when the value is put, and a moved entry keeps them.
//
// A value is put only the second time it is verified (seen holds the
// fingerprints of values verified once): a site with more users than the
// cache holds sees most values again only after they would have been
// evicted, and copying each in would make those requests slower than no
// cache. Only fingerprints of values that were verified are remembered,
// and a collision only admits a genuine value early.
type verifiedCache struct {
	mu       sync.RWMutex
	cur, old map[uint64]*verifiedEntry
	curSize  int
	genSize  int // bytes per generation

	seen []atomic.Uint64 // fingerprints of values seen once, by slot
	seed maphash.Seed
}

type verifiedEntry struct {
	fp    uint64 // the value's fingerprint, the entry's key
	first string // the first chunk
	rest  string // the chunks after the first, joined
	data  *Data  // never modified
	size  int
}

// verifiedOverhead approximates the bytes of an entry beyond its strings:
// the Data struct (352 bytes), the entry (64) and its slots in a map
// that may have just doubled.
const verifiedOverhead = 576

// allocSize returns about what the allocator takes for an object of n
// bytes, rounding up as its size classes do: up to an eighth of the
// power of two above n (a 3,800-byte string takes 4,096), so that a
// budget counted with it bounds the heap.
func allocSize(n int) int {
	if n <= 0 {
		return 0
	}
	step := max(16, (1<<bits.Len(uint(n-1)))/8)
	return (n + step - 1) / step * step
}

func newVerifiedCache(budget int) *verifiedCache {
	if budget <= 0 {
		return nil
	}
	slots := 64
	for slots < budget/seenSlotBytes {
		slots *= 2
	}
	return &verifiedCache{
		cur:     make(map[uint64]*verifiedEntry),
		old:     make(map[uint64]*verifiedEntry),
		genSize: budget / 2,
		seen:    make([]atomic.Uint64, slots),
		seed:    maphash.MakeSeed(),
	}
}

// seenSlotBytes is the cache budget per slot of the admission's
// fingerprints: 4,096 slots for the default 8 MiB, about four times the
// entries of 4 KB sessions that it holds, so that a value seen again
// within as many other values is admitted, and one seen again only after
// many more is not.
const seenSlotBytes = 2 << 10

// fingerprint returns the key of the value made of parts: a hash, under
// the process's own random seed, of its chunks' lengths, its first and
// its last fingerprintBytes. In securecookie's format those are the
// base64 of the value's time stamp and random IV, and of its MAC: bytes
// that differ from one value to the next, and that a hash of the whole
// 5 KB value (half a microsecond) would add nothing to. It is never 0.
func (c *verifiedCache) fingerprint(parts []string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	var n [2 * maxChunks]byte
	for i, p := range parts[:min(len(parts), maxChunks)] {
		n[2*i], n[2*i+1] = byte(len(p)>>8), byte(len(p))
	}
	h.Write(n[:2*len(parts)])
	first, last := parts[0], parts[len(parts)-1]
	h.WriteString(first[:min(len(first), fingerprintBytes)])
	h.WriteString(last[max(0, len(last)-fingerprintBytes):])
	return h.Sum64() | 1
}

// fingerprintBytes is how much of the value's start and end its
// fingerprint takes.
const fingerprintBytes = 64

// admit reports whether the value of fingerprint fp, just verified, was
// verified once before, and remembers it otherwise.
func (c *verifiedCache) admit(fp uint64) bool {
	slot := &c.seen[fp&uint64(len(c.seen)-1)]
	if slot.Load() == fp {
		slot.Store(0)
		return true
	}
	slot.Store(fp)
	return false
}

// get returns the data decoded from the value made of parts, of
// fingerprint fp, or nil. The caller must not modify it.
func (c *verifiedCache) get(fp uint64, parts []string) *Data {
	c.mu.RLock()
	e := c.cur[fp]
	inOld := false
	if e == nil {
		e, inOld = c.old[fp], true
	}
	c.mu.RUnlock()
	if e == nil || !e.matches(parts) {
		return nil
	}
	if inOld {
		// Move it to the current generation, unless another request
		// did, or it was removed meanwhile.
		c.mu.Lock()
		if c.old[fp] == e {
			delete(c.old, fp)
			c.add(e)
		}
		c.mu.Unlock()
	}
	return e.data
}

// put remembers that the value made of parts, of fingerprint fp, decodes
// to d, which must not be modified afterwards. rawSize is the length of
// the session's binary form, which d's strings share.
func (c *verifiedCache) put(fp uint64, parts []string, d *Data, rawSize int) {
	// What the entry keeps: the session's strings, the first chunk and
	// the rest, each one allocation, and the fixed parts.
	restLen := 0
	for _, p := range parts[1:] {
		restLen += len(p)
	}
	size := allocSize(rawSize) + allocSize(len(parts[0])) + allocSize(restLen) + verifiedOverhead
	if size > c.genSize {
		return
	}
	// Copies, not slices of the request's header.
	e := &verifiedEntry{fp: fp, first: strings.Clone(parts[0]), rest: joined(parts[1:]), data: d, size: size}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.cur[fp]; old != nil {
		c.curSize -= old.size
	}
	delete(c.old, fp)
	c.add(e)
}

// lookup returns the data decoded from the value made of parts, or nil;
// the caller must not modify it. On a miss it also returns the value's
// fingerprint, for remember. A nil cache finds nothing.
func (c *verifiedCache) lookup(parts []string) (*Data, uint64) {
	if c == nil {
		return nil, 0
	}
	fp := c.fingerprint(parts)
	return c.get(fp, parts), fp
}

// remember is told that the value made of parts, of fingerprint fp (from
// lookup), decoded to d: it puts a clone of d in the cache if the value
// was seen before.
func (c *verifiedCache) remember(fp uint64, parts []string, d *Data, rawSize int) {
	if c != nil && c.admit(fp) {
		c.put(fp, parts, clone(d), rawSize)
	}
}

// joined returns parts joined in a new string, even when there is only
// one (strings.Join would return it as it is).
func joined(parts []string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		b.WriteString(p)
	}
	return b.String()
}

// add puts e in the current generation, starting a new one when it is
// full; c.mu must be held.
func (c *verifiedCache) add(e *verifiedEntry) {
	if c.curSize+e.size > c.genSize {
		c.old, c.cur, c.curSize = c.cur, make(map[uint64]*verifiedEntry, len(c.cur)), 0
	}
	c.cur[e.fp] = e
	c.curSize += e.size
}

// remove forgets the value made of parts, if it is remembered.
func (c *verifiedCache) remove(parts []string) {
	if c == nil || len(parts) == 0 {
		return
	}
	fp := c.fingerprint(parts)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.cur[fp]; e != nil && e.matches(parts) {
		delete(c.cur, fp)
		c.curSize -= e.size
	}
	if e := c.old[fp]; e != nil && e.matches(parts) {
		delete(c.old, fp)
	}
}

// matches reports whether the value made of parts is e's.
func (e *verifiedEntry) matches(parts []string) bool {
	if parts[0] != e.first {
		return false
	}
	s := e.rest
	for _, p := range parts[1:] {
		if !strings.HasPrefix(s, p) {
			return false
		}
		s = s[len(p):]
	}
	return s == ""
}
