package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
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
	// Delete erases the request's session, d, so that no copy of its
	// cookie opens it again: the server-side record or, for a store that
	// keeps sessions in the browser, an entry in its revocation list for
	// as long as the cookie could still be used. Then it expires every
	// cookie in this very response. d may be nil (a store that keeps
	// sessions in the browser then only expires the cookies). When the
	// backend fails, Delete returns an error wrapping [ErrUnavailable]
	// and leaves the cookies as they were, so that a retry can delete the
	// session.
	Delete(w http.ResponseWriter, r *http.Request, d *Data) error
	// EndMatching ends every session that m matches, wherever it lives, so
	// that the next request of those users on any replica finds none.
	EndMatching(ctx context.Context, m Match) error
}

// Match selects ended sessions: the one session with identifier ID (a
// logout, recorded by stores that keep sessions in the browser) or, when
// ID is empty, those that a provider ended (back-channel or front-channel
// logout): the sessions of Issuer with session id SID or, when SID is
// empty, every session of Subject. Only sessions created at or before At
// match, so the user can log in again at once (a match by ID ignores At:
// identifiers are never reused).
type Match struct {
	// ID is a session's own identifier ([Data.ID]).
	ID string
	// Issuer is the issuer of the provider whose logout this is; with SID
	// or Subject, it selects that provider's sessions.
	Issuer string
	// SID selects the sessions with this provider session id ([Data.SID]).
	SID string
	// Subject selects the sessions of this user ([Data.Subject]).
	Subject string
	// At is when the logout happened: only sessions created at or before
	// At match.
	At time.Time
	// Until is when no session that could match is left alive (At plus the
	// absolute session lifetime); a store may forget the match then.
	Until time.Time
	// Unverified marks a match from a request nobody authenticated: a
	// front-channel logout, whose iss and sid anyone may send. Revocation
	// lists keep such matches in a budget of their own
	// ([RevocationLimits.UnverifiedLogouts]), so that a flood of them never
	// evicts a logout the provider signed or a user's own.
	Unverified bool
}

// Matches reports whether m selects d.
func (m Match) Matches(d *Data) bool {
	if m.ID != "" {
		return d.ID == m.ID // an ID is never reused: At does not matter
	}
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
