package session

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Revocations remembers ended sessions for stores whose sessions live in
// the browser and cannot be deleted from the server: the sessions logged
// out (matches by ID), so that a copy of their cookie opens nothing, and
// those the provider ended (matches by sid or subject).
type Revocations interface {
	// Revoke records m until m.Until (a zero Until means
	// [DefaultRevocationTTL] from now). A match whose Until has passed is
	// not recorded: no session it could select is left. A match no
	// session can have (no ID, and no issuer with a sid or subject) or
	// with a name longer than [MaxMatchLen] is refused with an error
	// wrapping [ErrInvalid].
	Revoke(ctx context.Context, m Match) error
	// Revoked reports whether a recorded match selects d.
	Revoked(ctx context.Context, d *Data) (bool, error)
}

// MaxMatchLen is the longest ID, SID or Subject a revocation list
// records. OpenID Connect Core §5.1 caps sub at 255 ASCII characters;
// providers' sids and this package's IDs are far shorter.
const MaxMatchLen = 255

// DefaultRevocationTTL is how long a match without Until is kept: the
// middleware's default absolute session lifetime.
const DefaultRevocationTTL = 7 * 24 * time.Hour

// RevocationLimits bound a revocation list. It keeps three budgets, one
// per kind of entry; past a budget's cap, recording a new entry drops the
// one of its budget that lapses soonest. The budgets are separate so that
// a flood of front-channel logouts, which anyone may attempt with made-up
// sids ([Match.Unverified]), can never evict a user's own logout nor a
// logout the provider signed (back-channel). A dropped entry that had
// not lapsed opens the sessions it ended again: the list then logs a
// warning (event=session.revocation_drop, at most one a minute, to
// slog.Default() for [MemoryRevocations]) naming the limit to raise.
type RevocationLimits struct {
	// Logouts caps the sessions ended by logout (matches by ID) kept at
	// once. Each lapses when no copy of its cookie could still be used
	// (at most the idle timeout after the logout), so this is the number
	// of logouts within an idle timeout. Default 100,000.
	Logouts int
	// ProviderLogouts caps the provider logouts with a signed logout
	// token (back-channel: matches by sid or subject) kept at once; each
	// lapses at its Until, the absolute session lifetime after it.
	// Default 10,000.
	ProviderLogouts int
	// UnverifiedLogouts caps the front-channel logouts kept at once
	// (unverified matches by sid), which lapse like provider logouts.
	// Default 10,000.
	UnverifiedLogouts int
}

// WithDefaults returns l with its zero fields set to their defaults.
func (l RevocationLimits) WithDefaults() RevocationLimits {
	if l.Logouts <= 0 {
		l.Logouts = 100_000
	}
	if l.ProviderLogouts <= 0 {
		l.ProviderLogouts = 10_000
	}
	if l.UnverifiedLogouts <= 0 {
		l.UnverifiedLogouts = 10_000
	}
	return l
}

// Kinds of revocation entries, and their budgets.
const (
	byID = iota
	bySID
	bySubject
)

// The budgets of a revocation list.
const (
	logoutBudget     = iota // matches by ID
	providerBudget          // verified matches by sid or subject
	unverifiedBudget        // unverified matches
	budgets
)

// budgetOf is the budget of a match of kind.
func budgetOf(kind uint8, unverified bool) int {
	switch {
	case kind == byID:
		return logoutBudget
	case unverified:
		return unverifiedBudget
	}
	return providerBudget
}

// CheckRevocation returns an error wrapping [ErrInvalid] when m cannot be
// recorded by a [Revocations] list (see [Revocations.Revoke]).
func CheckRevocation(m Match) error {
	switch {
	case len(m.ID) > MaxMatchLen || len(m.SID) > MaxMatchLen || len(m.Subject) > MaxMatchLen:
		return fmt.Errorf("%w: revocation: a name longer than %d bytes", ErrInvalid, MaxMatchLen)
	case m.ID != "":
		return nil
	case m.Issuer == "" || m.SID == "" && m.Subject == "":
		return fmt.Errorf("%w: revocation: needs an ID, or an issuer and a sid or subject", ErrInvalid)
	}
	return nil
}

// MemoryRevocations is a [Revocations] list for a single process. Use a
// shared one (such as Redis) when several replicas serve the same users.
//
// Its memory is bounded by [RevocationLimits]: each entry takes about 200
// bytes plus its issuer and name (at most [MaxMatchLen] bytes). Revoked
// costs at most three map lookups under a read lock, whatever the number
// of entries; Revoke costs O(log n) under the write lock, and drops the
// entries whose time has passed as it goes, oldest first, without walking
// the list.
type MemoryRevocations struct {
	mu      sync.RWMutex
	entries map[revocationKey]*revocation
	queues  [budgets]timeHeap[*revocation] // per budget, soonest Until first
	limits  [budgets]int
	now     func() time.Time
	drops   revocationDrops
}

type revocationKey struct {
	kind         uint8
	issuer, name string
}

type revocation struct {
	key       revocationKey
	at, until time.Time
	budget    int
	pos       int // in its queue
}

// NewMemoryRevocations returns an empty revocation list bounded by
// limits (zero fields mean their defaults).
func NewMemoryRevocations(limits RevocationLimits) *MemoryRevocations {
	return newMemoryRevocations(limits, time.Now)
}

func newMemoryRevocations(limits RevocationLimits, now func() time.Time) *MemoryRevocations {
	limits = limits.WithDefaults()
	return &MemoryRevocations{
		entries: make(map[revocationKey]*revocation),
		limits:  [budgets]int{limits.Logouts, limits.ProviderLogouts, limits.UnverifiedLogouts},
		now:     now,
	}
}

func keyOf(m Match) revocationKey {
	switch {
	case m.ID != "":
		return revocationKey{byID, "", m.ID}
	case m.SID != "":
		return revocationKey{bySID, m.Issuer, m.SID}
	}
	return revocationKey{bySubject, m.Issuer, m.Subject}
}

// Len returns the number of entries kept, lapsed ones not yet dropped
// included.
func (l *MemoryRevocations) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.entries)
}

// Revoke implements [Revocations].
func (l *MemoryRevocations) Revoke(_ context.Context, m Match) error {
	if err := CheckRevocation(m); err != nil {
		return err
	}
	now := l.now()
	if m.Until.IsZero() {
		m.Until = now.Add(DefaultRevocationTTL)
	}
	if !now.Before(m.Until) {
		return nil
	}
	k := keyOf(m)
	budget := budgetOf(k.kind, m.Unverified)
	q := &l.queues[budget]
	l.mu.Lock()
	defer l.mu.Unlock()
	for q.Len() > 0 && !now.Before((*q)[0].until) {
		l.drop(q)
	}
	if e := l.entries[k]; e != nil {
		if m.At.After(e.at) {
			e.at = m.At
		}
		if e.budget == unverifiedBudget && budget == providerBudget {
			// A signed logout of a sid a front-channel one named: out of
			// the flood's reach.
			heap.Remove(&l.queues[e.budget], e.pos)
			e.budget = budget
			if m.Until.After(e.until) {
				e.until = m.Until
			}
			l.push(e, now)
			return nil
		}
		if m.Until.After(e.until) {
			e.until = m.Until
			heap.Fix(&l.queues[e.budget], e.pos)
		}
		return nil
	}
	// Own copies: the names may be slices of a larger request.
	k.issuer, k.name = strings.Clone(k.issuer), strings.Clone(k.name)
	l.push(&revocation{key: k, at: m.At, until: m.Until, budget: budget}, now)
	return nil
}

// push adds e to its budget, dropping the entry of the budget that lapses
// soonest when it is full; l.mu must be held.
func (l *MemoryRevocations) push(e *revocation, now time.Time) {
	q := &l.queues[e.budget]
	if q.Len() >= l.limits[e.budget] {
		if now.Before((*q)[0].until) {
			l.drops.note(now, e.budget, 1, l.limits)
		}
		l.drop(q)
	}
	heap.Push(q, e)
	l.entries[e.key] = e
}

// drop removes the entry of q that lapses first; l.mu must be held.
func (l *MemoryRevocations) drop(q *timeHeap[*revocation]) {
	e := heap.Pop(q).(*revocation)
	delete(l.entries, e.key)
}

// Revoked implements [Revocations].
func (l *MemoryRevocations) Revoked(_ context.Context, d *Data) (bool, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.entries) == 0 {
		return false, nil
	}
	ended := func(k revocationKey) bool {
		e := l.entries[k]
		return e != nil && !d.Created.After(e.at)
	}
	switch {
	case d.ID != "" && l.entries[revocationKey{byID, "", d.ID}] != nil:
		return true, nil
	case d.Issuer == "":
		return false, nil
	case d.SID != "" && ended(revocationKey{bySID, d.Issuer, d.SID}):
		return true, nil
	case d.Subject != "" && ended(revocationKey{bySubject, d.Issuer, d.Subject}):
		return true, nil
	}
	return false, nil
}

// loggedOut is the match that records d's logout at now, for a store
// that keeps sessions in the browser. It is kept as long as any copy of
// the session's cookie could still be used: until now plus the idle
// timeout, which d's own times tell (Expires - LastSeen), since no copy
// was written after now; that is never shorter than d's own Expires.
func loggedOut(d *Data, now time.Time) Match {
	until := d.Expires
	if idle := d.Expires.Sub(d.LastSeen); !d.LastSeen.IsZero() && idle > 0 && now.Add(idle).After(until) {
		until = now.Add(idle)
	}
	return Match{ID: d.ID, At: now, Until: until}
}

// recordLogout records d's logout in rev, for a store that keeps sessions
// in the browser; nothing when d is nil. A failure wraps
// [ErrUnavailable], unless the match itself is refused.
func recordLogout(ctx context.Context, rev Revocations, d *Data, now time.Time) error {
	if d == nil || d.ID == "" || !d.Valid(now) {
		return nil
	}
	err := rev.Revoke(ctx, loggedOut(d, now))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalid):
		return fmt.Errorf("session: logout not recorded: %w", err)
	}
	return unavailable(err)
}

func (e *revocation) heapTime() time.Time { return e.until }
func (e *revocation) setHeapIndex(i int)  { e.pos = i }
