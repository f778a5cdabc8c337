package session

import (
	"strings"
	"sync"
)

// verifiedCache remembers cookie values that were authenticated and
// decrypted, with what they decoded to, so that a browser's next requests
// with the same cookie skip the base64, HMAC, AES and decoding: a value
// equal, byte for byte, to one that passed verification is just as
// authentic. Only what decoding would give is skipped; expiry and
// revocation are still checked on every request.
//
// Entries are keyed by the first chunk, the rest of the value is compared
// in full. A lookup compares the request's value only with values that
// share its map slot, under a hash the runtime seeds at random, so its
// timing cannot be steered to reveal another session's cookie; and an
// attacker who could read a cookie this way could as well replay it.
//
// Memory is bounded by two generations of at most half the budget each:
// when the current one is full it becomes the old one and the old one is
// dropped; an entry found in the old generation moves back to the current
// one. Saving over a value or deleting it removes it at once. Nothing the
// cache keeps is a slice of a request's Cookie header, whose other cookies
// could be far larger than the entry: the first chunk and the rest are
// copies, made once when the value is put, and a moved entry keeps them.
type verifiedCache struct {
	mu       sync.RWMutex
	cur, old map[string]*verifiedEntry
	curSize  int
	genSize  int // bytes per generation
}

type verifiedEntry struct {
	first string // the first chunk, the entry's key
	rest  string // the chunks after the first, joined
	data  *Data  // never modified
	size  int
}

// verifiedOverhead approximates the bytes of an entry beyond its strings:
// the map slot, the entry and the Data struct.
const verifiedOverhead = 512

func newVerifiedCache(budget int) *verifiedCache {
	if budget <= 0 {
		return nil
	}
	return &verifiedCache{
		cur:     make(map[string]*verifiedEntry),
		old:     make(map[string]*verifiedEntry),
		genSize: budget / 2,
	}
}

// get returns the data decoded from the value made of parts, or nil. The
// caller must not modify it.
func (c *verifiedCache) get(parts []string) *Data {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	e := c.cur[parts[0]]
	c.mu.RUnlock()
	if e == nil {
		c.mu.Lock()
		if e = c.old[parts[0]]; e != nil && e.matches(parts[1:]) {
			delete(c.old, parts[0])
			c.add(e)
		}
		c.mu.Unlock()
	}
	if e == nil || !e.matches(parts[1:]) {
		return nil
	}
	return e.data
}

// put remembers that the value made of parts decodes to d, which must not
// be modified afterwards.
func (c *verifiedCache) put(parts []string, d *Data, rawSize int) {
	if c == nil {
		return
	}
	size := rawSize + verifiedOverhead
	for _, p := range parts {
		size += len(p)
	}
	if size > c.genSize {
		return
	}
	// Copies, not slices of the request's header.
	e := &verifiedEntry{first: strings.Clone(parts[0]), rest: joined(parts[1:]), data: d, size: size}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.cur[e.first]; old != nil {
		c.curSize -= old.size
	}
	c.add(e)
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
		c.old, c.cur, c.curSize = c.cur, make(map[string]*verifiedEntry, len(c.cur)), 0
	}
	c.cur[e.first] = e
	c.curSize += e.size
}

// remove forgets the value made of parts, if it is remembered.
func (c *verifiedCache) remove(parts []string) {
	if c == nil || len(parts) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.cur[parts[0]]; e != nil && e.matches(parts[1:]) {
		delete(c.cur, parts[0])
		c.curSize -= e.size
	}
	if e := c.old[parts[0]]; e != nil && e.matches(parts[1:]) {
		delete(c.old, parts[0])
	}
}

// matches reports whether rest, joined, is e.rest.
func (e *verifiedEntry) matches(rest []string) bool {
	s := e.rest
	for _, p := range rest {
		if !strings.HasPrefix(s, p) {
			return false
		}
		s = s[len(p):]
	}
	return s == ""
}
