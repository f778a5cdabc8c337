package session

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// GorillaOptions configures a [GorillaStore].
type GorillaOptions struct {
	// Store is the gorilla/sessions store that keeps the sessions, such
	// as a sessions.FilesystemStore or a third-party store. Required.
	// Gorilla stores cap each session at 4096 bytes by default (their
	// MaxLength), less than a session with a large ID token: raise it,
	// such as fs.MaxLength(64 << 10), or logins fail with [ErrTooLarge].
	Store sessions.Store
	// Name is the gorilla session's name (its cookie name); default
	// "endsession".
	Name string
	// Secure marks the cookie Secure; set it when the application is
	// served over https. The adapter also sets Path=/, HttpOnly,
	// SameSite=Lax and a Max-Age that ends with the session, whatever the
	// store's Options say; the store's Domain is kept.
	Secure bool
	// Revocations remembers ended sessions, checked on every Load: those
	// deleted (logged out), so that a copy of a cookie opens nothing, and
	// those ended by the provider. Default: a [MemoryRevocations] list,
	// which only covers one process; give a shared list when there are
	// several replicas.
	Revocations Revocations
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// GorillaStore is a [Store] over any gorilla/sessions store. The session
// is kept in its binary form (see [Data.MarshalBinary]) as one []byte
// value of the gorilla session, so no gob registration is needed.
// Deleting saves the gorilla session with MaxAge -1, which expires the
// cookie and makes server-side stores erase the record.
//
// Unlike [ServerStore], it cannot tell a gorilla store to update only an
// existing record: a request already in flight when the user logs out
// may write its session back. Sessions ended by the provider stay ended
// (they are in the Revocations list).
type GorillaStore struct {
	store       sessions.Store
	name        string
	secure      bool
	revocations Revocations
	now         func() time.Time
}

// gorillaKey is the key of the session's value in the gorilla session.
const gorillaKey = "endsession"

// NewGorillaStore returns a GorillaStore, or an error if the options are
// invalid.
func NewGorillaStore(opts GorillaOptions) (*GorillaStore, error) {
	if opts.Store == nil {
		return nil, errors.New("session: GorillaOptions.Store is required")
	}
	if opts.Name == "" {
		opts.Name = "endsession"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Revocations == nil {
		opts.Revocations = newMemoryRevocations(RevocationLimits{}, opts.Now)
	}
	return &GorillaStore{store: opts.Store, name: opts.Name, secure: opts.Secure, revocations: opts.Revocations, now: opts.Now}, nil
}

// SecureCookies reports whether the store marks its cookie Secure.
func (s *GorillaStore) SecureCookies() bool { return s.secure }

// open reads the request's gorilla session with the store's New, which,
// unlike Get, leaves the request alone. It never returns a nil session.
func (s *GorillaStore) open(r *http.Request) (*sessions.Session, error) {
	gs, err := s.store.New(r, s.name)
	if gs == nil {
		gs = sessions.NewSession(s.store, s.name)
		gs.IsNew = true
	}
	if gs.Options == nil {
		gs.Options = &sessions.Options{}
	} else {
		opts := *gs.Options
		gs.Options = &opts
	}
	return gs, err
}

// Load implements [Store].
func (s *GorillaStore) Load(r *http.Request) (*Data, error) {
	if _, err := r.Cookie(s.name); err != nil {
		return nil, nil
	}
	gs, err := s.open(r)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil // the record is gone: deleted or swept
	case isCookieError(err):
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	default:
		return nil, unavailable(err)
	}
	raw, ok := gs.Values[gorillaKey].([]byte)
	if !ok {
		return nil, nil
	}
	d, err := decodeRecord(raw)
	if d == nil {
		return nil, err
	}
	return live(r.Context(), d, s.now(), s.revocations)
}

// Save implements [Store]. A session with a new ID gets a new gorilla
// session (and so a new server-side record), never the request's old one.
func (s *GorillaStore) Save(w http.ResponseWriter, r *http.Request, d *Data) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	maxAge := int(d.Expires.Sub(s.now()) / time.Second)
	if maxAge < 1 {
		return s.Delete(w, r, d)
	}
	raw, err := d.MarshalBinary()
	if err != nil {
		return err
	}
	gs, err := s.open(r)
	if err != nil || !sameSession(gs, d.ID) {
		fresh := sessions.NewSession(s.store, s.name)
		fresh.IsNew = true
		fresh.Options = gs.Options
		gs = fresh
	}
	s.attributes(gs.Options, maxAge)
	gs.Values = map[any]any{gorillaKey: raw}
	if err := s.store.Save(r, w, gs); err != nil {
		return s.saveError(err)
	}
	return nil
}

// sameSession reports whether gs holds the session id.
func sameSession(gs *sessions.Session, id string) bool {
	raw, ok := gs.Values[gorillaKey].([]byte)
	if !ok {
		return false
	}
	var old Data
	return old.UnmarshalBinary(raw) == nil && old.ID == id
}

func (s *GorillaStore) attributes(o *sessions.Options, maxAge int) {
	o.Path = "/"
	o.MaxAge = maxAge
	o.HttpOnly = true
	o.Secure = s.secure
	o.SameSite = http.SameSiteLaxMode
	o.Partitioned = false
}

func (s *GorillaStore) saveError(err error) error {
	switch {
	case strings.Contains(err.Error(), "the value is too long"):
		return fmt.Errorf("%w: the gorilla store's MaxLength (4096 bytes by default) is below the session's size; raise it, such as FilesystemStore.MaxLength(64 << 10): %w", ErrTooLarge, err)
	case isCookieError(err):
		return fmt.Errorf("session: gorilla store: %w", err)
	default:
		return unavailable(err)
	}
}

// isCookieError reports a securecookie error: a cookie that does not
// decode or authenticate, or a value that cannot be encoded.
func isCookieError(err error) bool {
	var ce securecookie.Error
	return errors.As(err, &ce)
}

// Delete implements [Store]: it records d's logout in the revocation
// list (a gorilla store that keeps sessions in cookies cannot erase
// their copies), then saves the request's gorilla session with MaxAge
// -1, which expires the cookie and erases a server-side record.
func (s *GorillaStore) Delete(w http.ResponseWriter, r *http.Request, d *Data) error {
	if err := recordLogout(r.Context(), s.revocations, d, s.now()); err != nil {
		return err
	}
	gs, _ := s.open(r) // an unreadable session still gets its cookie expired
	s.attributes(gs.Options, -1)
	gs.Values = map[any]any{}
	if err := s.store.Save(r, w, gs); err != nil {
		http.SetCookie(w, sessions.NewCookie(s.name, "", gs.Options))
		return unavailable(err)
	}
	return nil
}

// EndMatching implements [Store] by recording m in the revocation list,
// which Load checks.
func (s *GorillaStore) EndMatching(ctx context.Context, m Match) error {
	return s.revocations.Revoke(ctx, m)
}
