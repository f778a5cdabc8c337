package session

import (
	"log/slog"
	"time"
)

// defaultMemoryBytes is MemoryOptions.MaxBytes's default.
const defaultMemoryBytes = 1 << 30

// memEntryOverhead approximates the bytes of a stored session beyond its
// strings: the Data struct, the record, its heap slot, its map slots and
// index entries, and the allocator's rounding. BenchmarkMemoryFootprint
// measures it: about 1.4 KB for a session of 2.6 KB of tokens tagged with
// its sid and subject.
const memEntryOverhead = 1024

// entrySize estimates the memory a session takes once stored.
func entrySize(id string, d *Data, index []string) int64 {
	n := memEntryOverhead + 2*len(id) + len(d.ID) + len(d.Provider) + len(d.Issuer) + len(d.Subject) +
		len(d.SID) + len(d.Email) + len(d.Name) + len(d.IDToken) + len(d.AccessToken) +
		len(d.TokenType) + len(d.RefreshToken) + len(d.ExtraClaimsJSON)
	if dev := d.Device; dev != nil {
		n += len(dev.ID) + len(dev.Info) + len(dev.Requestor) + len(dev.MVPD)
	}
	for _, k := range index {
		n += 2*len(k) + len(id)
	}
	return int64(n)
}

// warningEvery is the least time between two warnings of one kind: live
// sessions evicted, or logouts dropped from a full revocation list.
const warningEvery = time.Minute

// evictions counts the live sessions evicted and logs them, at most once
// per warningEvery; the backend's lock must be held.
type evictions struct {
	log     *slog.Logger
	pending int // evicted since the last warning
	last    time.Time
}

// note records that n live sessions were just evicted.
func (v *evictions) note(now time.Time, n, kept int, size, maxBytes int64) {
	v.pending += n
	if !v.last.IsZero() && now.Sub(v.last) < warningEvery {
		return
	}
	v.log.Warn("memory store full: live sessions evicted, their users are signed out; raise MemoryOptions.MaxBytes or use a shared store",
		"event", "session.evict", "evicted", v.pending, "sessions", kept, "bytes", size, "max_bytes", maxBytes)
	v.pending, v.last = 0, now
}
