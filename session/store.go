package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// A Store loads and saves sessions for requests. The middleware talks to
// sessions only through this interface, so cookie and server-side stores
// are interchangeable.
type Store interface {
	// Load returns the request's session. It returns nil and no error when
	// the request carries no session, or one that has expired or was ended
	// by back-channel logout. It returns an error wrapping [ErrInvalid] for
	// a session that fails to decode or authenticate (treat it as no
	// session), and [ErrUnavailable] when the backend cannot answer.
	Load(r *http.Request) (*Data, error)
	// Save writes d for the response. An empty d.ID gets a new identifier.
	Save(w http.ResponseWriter, r *http.Request, d *Data) error
	// Delete erases the request's session: the server-side record, if any,
	// and every cookie, expired in this very response. d may be nil.
	Delete(w http.ResponseWriter, r *http.Request, d *Data) error
	// EndSessions ends every session that m matches, wherever it lives, so
	// that the next request of those users on any replica finds none.
	EndSessions(ctx context.Context, m Match) error
}

// Match selects the sessions that a provider ended (back-channel or
// front-channel logout): those of Issuer with session id SID or, when SID
// is empty, every session of Subject. Only sessions created at or before
// At match, so the user can log in again at once.
type Match struct {
	Issuer  string
	SID     string
	Subject string
	At      time.Time
	// Until is when no session that could match is left alive (At plus the
	// absolute session lifetime); a store may forget the match then.
	Until time.Time
}

// Matches reports whether m selects d.
func (m Match) Matches(d *Data) bool {
	if d.Issuer != m.Issuer || d.Created.After(m.At) {
		return false
	}
	if m.SID != "" {
		return d.SID == m.SID
	}
	return m.Subject != "" && d.Subject == m.Subject
}

// Errors returned by stores.
var (
	// ErrInvalid marks a session cookie that was tampered with, cut, or
	// written under a key that is no longer configured.
	ErrInvalid = errors.New("session: invalid session cookie")
	// ErrTooLarge is returned by Save when a session does not fit in the
	// store's size cap.
	ErrTooLarge = errors.New("session: session too large")
	// ErrUnavailable marks a backend (such as Redis) that cannot answer.
	ErrUnavailable = errors.New("session: store unavailable")
)

// NewID returns a new random session identifier (128 bits).
func NewID() string { return rand.Text() }

// Revocations remembers sessions ended by the provider, for stores whose
// sessions live in the browser and cannot be deleted from the server.
type Revocations interface {
	// Revoke records m until m.Until.
	Revoke(ctx context.Context, m Match) error
	// Revoked reports whether a recorded match selects d.
	Revoked(ctx context.Context, d *Data) (bool, error)
}

// MemoryRevocations is a [Revocations] list for a single process. Use a
// shared one (such as Redis) when several replicas serve the same users.
type MemoryRevocations struct {
	mu      sync.RWMutex
	entries map[revocationKey]Match
	now     func() time.Time
}

type revocationKey struct {
	bySID        bool
	issuer, name string
}

// NewMemoryRevocations returns an empty revocation list.
func NewMemoryRevocations() *MemoryRevocations {
	return &MemoryRevocations{entries: make(map[revocationKey]Match), now: time.Now}
}

func keyOf(m Match) revocationKey {
	if m.SID != "" {
		return revocationKey{true, m.Issuer, m.SID}
	}
	return revocationKey{false, m.Issuer, m.Subject}
}

// Revoke implements [Revocations].
func (l *MemoryRevocations) Revoke(_ context.Context, m Match) error {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, old := range l.entries {
		if now.After(old.Until) {
			delete(l.entries, k)
		}
	}
	k := keyOf(m)
	if old, ok := l.entries[k]; !ok || old.At.Before(m.At) {
		l.entries[k] = m
	}
	return nil
}

// Revoked implements [Revocations].
func (l *MemoryRevocations) Revoked(_ context.Context, d *Data) (bool, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.entries) == 0 {
		return false, nil
	}
	for _, k := range [2]revocationKey{{true, d.Issuer, d.SID}, {false, d.Issuer, d.Subject}} {
		if m, ok := l.entries[k]; ok && k.name != "" && m.Matches(d) {
			return true, nil
		}
	}
	return false, nil
}

// unavailable marks err as [ErrUnavailable], unless it already is (a
// backend may say so itself).
func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// decodeRecord decodes a stored session: nil for no record, and an error
// wrapping [ErrInvalid] for a record that does not decode.
func decodeRecord(raw []byte) (*Data, error) {
	if raw == nil {
		return nil, nil
	}
	d := new(Data)
	if err := d.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return d, nil
}

// live returns d when it is still valid at now and no revocation in rev
// ended it, and nil otherwise.
func live(ctx context.Context, d *Data, now time.Time, rev Revocations) (*Data, error) {
	if !d.Valid(now) {
		return nil, nil
	}
	revoked, err := rev.Revoked(ctx, d)
	if err != nil {
		return nil, unavailable(err)
	}
	if revoked {
		return nil, nil
	}
	return d, nil
}
