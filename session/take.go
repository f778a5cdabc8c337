package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// A Taker is a [Store] that reads the request's session and deletes it in
// one step, as logout does; a server-side store then asks its backend once
// instead of twice.
//
// Take returns what [Store.Load] would have returned, and does what
// [Store.Delete] does: every cookie is expired in this response, unless
// the backend failed. An error wrapping [ErrUnavailable] leaves the
// cookie as it was, so that a retry can delete the session: with a
// non-nil session, it was read but not deleted; with none, nothing could
// be read.
type Taker interface {
	Take(w http.ResponseWriter, r *http.Request) (*Data, error)
}

// A MatchTaker is a [Store] that ends the sessions a [Match] selects, as
// [Store.EndMatching] does, and returns them, so that the middleware can
// hand each to the application's erasure hook. [ServerStore] is one;
// stores that keep sessions in the browser cannot be.
type MatchTaker interface {
	TakeMatching(ctx context.Context, m Match) ([]*Data, error)
}

// A TakeBackend is a [Backend] that reads a record and deletes it, with
// its index tags, in one call. [ServerStore.Take] uses it when the backend
// is one.
type TakeBackend interface {
	Backend
	// Take returns the record stored under id, as Get does (nil when there
	// is none), and deletes it as Delete does.
	Take(ctx context.Context, id string) ([]byte, error)
}

// Take implements [Taker]: with a [TakeBackend], one call reads and
// deletes the record; with any other backend, Load then Delete.
func (s *ServerStore) Take(w http.ResponseWriter, r *http.Request) (*Data, error) {
	tb, ok := s.backend.(TakeBackend)
	if !ok {
		d, err := s.Load(r)
		if d == nil && errors.Is(err, ErrUnavailable) {
			return nil, err
		}
		if derr := s.Delete(w, r, d); derr != nil {
			return d, derr
		}
		return d, err
	}
	id, ok := s.cookieID(r)
	if !ok || id == "" {
		s.jar.expire(w, s.jar.name)
		if !ok {
			return nil, ErrInvalid
		}
		return nil, nil
	}
	raw, err := tb.Take(r.Context(), id)
	if err != nil {
		return nil, unavailable(err)
	}
	s.jar.expire(w, s.jar.name)
	d, err := decodeRecord(raw)
	if d == nil {
		return nil, err
	}
	if d.ID != id {
		return nil, fmt.Errorf("%w: record of %q holds session %q", ErrInvalid, id, d.ID)
	}
	if !d.Valid(s.now()) {
		return nil, nil
	}
	return d, nil
}
