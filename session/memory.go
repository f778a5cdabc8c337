package session

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// MemoryOptions configures a [MemoryBackend].
type MemoryOptions struct {
	// MaxBytes caps the memory the sessions take, as estimated from
	// their sizes (each session's strings plus about a kilobyte for its
	// record and index entries); default 1 GiB. A session with 2.6 KB of
	// tokens takes about 4 KB, so 100,000 of them take about 400 MB and
	// the default holds about 250,000. Past it, storing a new session
	// removes the expired ones, then evicts the live ones that expire
	// soonest (with rolling expiry, those idle the longest), which signs
	// their users out, and logs a warning.
	MaxBytes int64
	// MaxEntries caps the number of sessions kept, when positive, in the
	// same way; default none (MaxBytes bounds them).
	MaxEntries int
	// Logger receives a warning when live sessions must be evicted (at
	// most one a minute, with how many were); default slog.Default().
	Logger *slog.Logger
	// SweepInterval is how often a background sweep removes expired
	// sessions; default one minute. Negative turns the sweep off (expired
	// sessions are then removed as they are found or evicted). Stop the
	// sweep with [MemoryBackend.Close].
	SweepInterval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// MemoryBackend is a [Backend] (and a [DataBackend]) that keeps sessions
// in the process's memory: bounded, expiring, and indexed for
// back-channel logout. It is for applications served by one process; use
// a shared backend when several replicas serve the same users. It is safe
// for concurrent use.
type MemoryBackend struct {
	mu      sync.RWMutex
	entries map[string]*memEntry
	byTime  timeHeap[*memEntry] // soonest expiry first
	index   map[string]map[string]struct{}
	max     int
	now     func() time.Time

	size     int64 // estimated bytes of the sessions kept
	maxBytes int64
	evict    evictions

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type memEntry struct {
	id      string
	data    *Data // immutable once stored
	expires time.Time
	index   []string
	pos     int // in byTime
	size    int64
}

// NewMemoryBackend returns an empty MemoryBackend and starts its sweep.
// Call Close when done with it.
func NewMemoryBackend(opts MemoryOptions) *MemoryBackend {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = int(^uint(0) >> 1)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultMemoryBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &MemoryBackend{
		entries: make(map[string]*memEntry),
		index:   make(map[string]map[string]struct{}),
		max:     opts.MaxEntries,
		now:     opts.Now,

		maxBytes: opts.MaxBytes,
		evict:    evictions{log: opts.Logger},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if opts.SweepInterval > 0 {
		go b.sweepEvery(opts.SweepInterval)
	} else {
		close(b.done)
	}
	return b
}

// Close stops the background sweep and waits for it to return. The
// backend still works afterwards, without the sweep. Close is idempotent.
func (b *MemoryBackend) Close() error {
	b.closeOnce.Do(func() { close(b.stop) })
	<-b.done
	return nil
}

func (b *MemoryBackend) sweepEvery(every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.Sweep()
		}
	}
}

// Sweep removes every expired session now.
func (b *MemoryBackend) Sweep() {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.byTime) > 0 && !now.Before(b.byTime[0].expires) {
		b.remove(b.byTime[0])
	}
}

// Len returns the number of sessions kept, expired ones not yet removed
// included.
func (b *MemoryBackend) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.entries)
}

// Size returns the estimated bytes of the sessions kept, what
// MemoryOptions.MaxBytes bounds.
func (b *MemoryBackend) Size() int64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.size
}

// GetData implements [DataBackend]. The result must not be modified.
func (b *MemoryBackend) GetData(_ context.Context, id string) (*Data, error) {
	now := b.now()
	b.mu.RLock()
	defer b.mu.RUnlock()
	e := b.entries[id]
	if e == nil || !now.Before(e.expires) {
		return nil, nil
	}
	return e.data, nil
}

// SetData implements [DataBackend]: d becomes the backend's, and must not
// be modified afterwards.
func (b *MemoryBackend) SetData(_ context.Context, id string, d *Data, ttl time.Duration, index []string, update bool) error {
	if ttl <= 0 {
		return errors.New("session: memory backend: ttl must be positive")
	}
	now := b.now()
	expires := now.Add(ttl)
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[id]
	if e != nil && !now.Before(e.expires) {
		b.remove(e)
		e = nil
	}
	if e == nil {
		if update {
			return ErrEnded
		}
		e = &memEntry{id: id, data: d, expires: expires}
		b.entries[id] = e
		heap.Push(&b.byTime, e)
	} else {
		e.data, e.expires = d, expires
		heap.Fix(&b.byTime, e.pos)
	}
	b.retag(e, index)
	b.size -= e.size
	e.size = entrySize(id, d, index)
	b.size += e.size
	b.makeRoom(e, now)
	return nil
}

// makeRoom evicts the sessions that expire soonest, other than keep,
// while the backend holds more than its bounds, and logs when it evicts
// live ones; b.mu must be held.
func (b *MemoryBackend) makeRoom(keep *memEntry, now time.Time) {
	live := 0
	for (b.size > b.maxBytes || len(b.entries) > b.max) && len(b.byTime) > 1 {
		e := b.byTime[0]
		if e == keep {
			// The session just stored expires soonest of all: the
			// next one goes instead.
			e = b.byTime[1]
			if len(b.byTime) > 2 && b.byTime.Less(2, 1) {
				e = b.byTime[2]
			}
		}
		if now.Before(e.expires) {
			live++
		}
		b.remove(e)
	}
	if live > 0 {
		b.evict.note(now, live, len(b.entries), b.size, b.maxBytes)
	}
}

// retag replaces e's index tags with index.
func (b *MemoryBackend) retag(e *memEntry, index []string) {
	for _, k := range e.index {
		b.untag(k, e.id)
	}
	e.index = append(e.index[:0], index...)
	for _, k := range e.index {
		ids := b.index[k]
		if ids == nil {
			ids = make(map[string]struct{}, 1)
			b.index[k] = ids
		}
		ids[e.id] = struct{}{}
	}
}

func (b *MemoryBackend) untag(key, id string) {
	if ids := b.index[key]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(b.index, key)
		}
	}
}

// remove drops e; b.mu must be held.
func (b *MemoryBackend) remove(e *memEntry) {
	for _, k := range e.index {
		b.untag(k, e.id)
	}
	heap.Remove(&b.byTime, e.pos)
	delete(b.entries, e.id)
	b.size -= e.size
}

// Get implements [Backend], encoding the stored session.
func (b *MemoryBackend) Get(ctx context.Context, id string) ([]byte, error) {
	d, err := b.GetData(ctx, id)
	if err != nil || d == nil {
		return nil, err
	}
	return d.MarshalBinary()
}

// Set implements [Backend], decoding data (written by
// [Data.MarshalBinary]) once.
func (b *MemoryBackend) Set(ctx context.Context, id string, data []byte, ttl time.Duration, index []string, update bool) error {
	d := new(Data)
	if err := d.UnmarshalBinary(data); err != nil {
		return err
	}
	return b.SetData(ctx, id, d, ttl, index, update)
}

// Delete implements [Backend].
func (b *MemoryBackend) Delete(_ context.Context, ids ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		if e := b.entries[id]; e != nil {
			b.remove(e)
		}
	}
	return nil
}

// Lookup implements [Backend].
func (b *MemoryBackend) Lookup(_ context.Context, key string) ([]string, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ids := make([]string, 0, len(b.index[key]))
	for id := range b.index[key] {
		ids = append(ids, id)
	}
	return ids, nil
}

func (e *memEntry) heapTime() time.Time { return e.expires }
func (e *memEntry) setHeapIndex(i int)  { e.pos = i }
