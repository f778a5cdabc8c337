package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"sync"
	"time"
)

// A Backend keeps the records of a [ServerStore]: one opaque record per
// session, under the session's identifier, that lapses after a TTL, and
// tagged with index keys so that back-channel logout finds every session
// of a provider session or of a user.
//
// Implementations must be safe for concurrent use. Every method may fail
// when the backend cannot answer; the store reports such errors as
// [ErrUnavailable].
type Backend interface {
	// Get returns the record stored under id. It returns nil and no error
	// when there is none: never stored, deleted, or past its TTL.
	Get(ctx context.Context, id string) ([]byte, error)
	// Set stores data under id for ttl (> 0), replacing any previous
	// record, and tags id with each of the index keys, which are kept at
	// least as long as the record. Set is all or nothing: when it fails,
	// the previous record is left as it was.
	//
	// With update set, Set only replaces an existing record: when id has
	// none (it was deleted, ended or expired meanwhile) it stores nothing
	// and returns [ErrEnded], so that a request that loaded a session
	// before it was ended cannot bring it back.
	Set(ctx context.Context, id string, data []byte, ttl time.Duration, index []string, update bool) error
	// Delete removes the records of ids and their index tags. Absent ids
	// are not an error.
	Delete(ctx context.Context, ids ...string) error
	// Lookup returns the ids tagged with key, or none. It may return ids
	// whose records have lapsed; the store checks each record.
	Lookup(ctx context.Context, key string) ([]string, error)
}

// A DataBackend is a [Backend] that keeps decoded sessions, such as the
// in-process [MemoryBackend]. A [ServerStore] detects it and calls
// GetData and SetData instead of Get and Set, so that the hot path decodes
// nothing.
//
// Stored values are immutable: SetData takes ownership of d (the store
// passes a copy nobody else holds), and callers of GetData must not modify
// what it returns.
type DataBackend interface {
	Backend
	// GetData is Get for a decoded session.
	GetData(ctx context.Context, id string) (*Data, error)
	// SetData is Set for a decoded session.
	SetData(ctx context.Context, id string, d *Data, ttl time.Duration, index []string, update bool) error
}

// ErrEnded is returned by [Backend.Set] with update set, and by
// [ServerStore.Save], when the session's record is gone: it was logged
// out, ended by the provider, or expired while the request was using it.
// Nothing is written, so the session stays ended.
var ErrEnded = errors.New("session: session ended meanwhile")

// ServerOptions configures a [ServerStore].
type ServerOptions struct {
	// Backend keeps the session records. Required: a [MemoryBackend] for
	// one process, or a shared backend (such as the redisstore module's)
	// for several replicas.
	Backend Backend
	// Keys sign the session identifier in the cookie, newest first: the
	// first pair signs, every pair verifies, so keys rotate without
	// logging anyone out. Only HashKey (at least 32 bytes) is used. At
	// least one pair is required.
	Keys []KeyPair
	// Name is the cookie name; default "endsession_id". When Secure is
	// set the name gets the "__Host-" prefix.
	Name string
	// Secure marks the cookie Secure; set it when the application is
	// served over https.
	Secure bool
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// ServerStore keeps sessions on the server, in a [Backend]; the browser
// holds only a random identifier signed with HMAC-SHA256. Sessions end on
// the server: logout and back-channel logout delete the record, and the
// next request on any replica sharing the backend has no session.
//
// The identifier's signature is checked before the backend is asked, so a
// forged cookie costs no backend call. A request that loaded a session
// before it was logged out or ended cannot write it back (see [ErrEnded]). Expiry is enforced by Load from
// [Data.Expires], whatever the backend's TTL and the cookie's Max-Age say.
type ServerStore struct {
	jar     cookieJar
	backend Backend
	data    DataBackend // backend, when it keeps decoded sessions
	macs    []*macPool  // newest first
	now     func() time.Time
}

// macPrefix separates the identifier signatures from every other use of
// the hash keys.
const macPrefix = "endsession server session id\x00"

const (
	macSize    = sha256.Size
	macEncoded = 43 // base64.RawURLEncoding.EncodedLen(macSize)
	maxIDLen   = 128
)

// macEncoding encodes signatures; strict, so each has one encoding.
var macEncoding = base64.RawURLEncoding.Strict()

// macPool hands out HMAC states for one key. hmac.Reset restores the
// precomputed key state, so a pooled state costs neither allocation nor
// rehashing of the key.
type macPool struct{ pool sync.Pool }

type macState struct {
	h   hash.Hash
	buf []byte
	sum [macSize]byte
}

func newMACPool(key []byte) *macPool {
	key = append([]byte(nil), key...)
	p := new(macPool)
	p.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, key), buf: make([]byte, 0, len(macPrefix)+maxIDLen)}
	}
	return p
}

// sumOf computes the signature of id into st.sum.
func (st *macState) sumOf(id string) []byte {
	st.buf = append(append(st.buf[:0], macPrefix...), id...)
	st.h.Reset()
	st.h.Write(st.buf)
	return st.h.Sum(st.sum[:0])
}

// NewServerStore returns a ServerStore, or an error if the options are
// invalid.
func NewServerStore(opts ServerOptions) (*ServerStore, error) {
	if opts.Backend == nil {
		return nil, errors.New("session: ServerOptions.Backend is required")
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("session: at least one key pair is required")
	}
	s := &ServerStore{backend: opts.Backend, now: opts.Now}
	s.data, _ = opts.Backend.(DataBackend)
	for i, k := range opts.Keys {
		if len(k.HashKey) < 32 {
			return nil, fmt.Errorf("session: key pair %d: hash key must be at least 32 bytes, got %d", i, len(k.HashKey))
		}
		if allZero(k.HashKey) {
			return nil, fmt.Errorf("session: key pair %d: hash key is all zeros", i)
		}
		s.macs = append(s.macs, newMACPool(k.HashKey))
	}
	if opts.Name == "" {
		opts.Name = "endsession_id"
	}
	s.jar = newCookieJar(opts.Name, opts.Secure)
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// CookieName is the name of the session cookie.
func (s *ServerStore) CookieName() string { return s.jar.name }

// SecureCookies reports whether the store marks its cookie Secure.
func (s *ServerStore) SecureCookies() bool { return s.jar.secure }

// sign returns the cookie value for id: id "." base64url(HMAC).
func (s *ServerStore) sign(id string) string {
	p := s.macs[0]
	st := p.pool.Get().(*macState)
	defer p.pool.Put(st)
	mac := st.sumOf(id)
	out := make([]byte, 0, len(id)+1+macEncoded)
	out = append(append(out, id...), '.')
	return string(macEncoding.AppendEncode(out, mac))
}

// verify returns the identifier of a cookie value signed under any
// configured key, without allocating.
func (s *ServerStore) verify(value string) (string, bool) {
	if len(value) < macEncoded+2 || len(value) > maxIDLen+1+macEncoded {
		return "", false
	}
	cut := len(value) - macEncoded - 1
	id, sig := value[:cut], value[cut+1:]
	if value[cut] != '.' || !validID(id) {
		return "", false
	}
	var raw [macEncoded]byte
	var want [macSize]byte
	copy(raw[:], sig)
	if n, err := macEncoding.Decode(want[:], raw[:]); err != nil || n != macSize {
		return "", false
	}
	for _, p := range s.macs {
		st := p.pool.Get().(*macState)
		ok := hmac.Equal(st.sumOf(id), want[:])
		p.pool.Put(st)
		if ok {
			return id, true
		}
	}
	return "", false
}

// validID reports whether id is a non-empty cookie-safe token.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cookieID returns the request's session identifier: "" without a cookie,
// and false when the cookie is not signed by a configured key.
func (s *ServerStore) cookieID(r *http.Request) (id string, ok bool) {
	value, found := "", false
	dup := false
	eachCookie(r, func(name, v string) {
		if name == s.jar.name {
			dup = found
			value, found = v, true
		}
	})
	if !found {
		return "", true
	}
	if dup {
		return "", false
	}
	return s.verify(value)
}

// Load implements [Store]. A cookie that is not signed by a configured
// key is rejected with [ErrInvalid] before the backend is asked.
func (s *ServerStore) Load(r *http.Request) (*Data, error) {
	id, ok := s.cookieID(r)
	if !ok {
		return nil, ErrInvalid
	}
	if id == "" {
		return nil, nil
	}
	d, err := s.get(r.Context(), id)
	if err != nil || d == nil {
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

// get reads a session from the backend. The result is the caller's own.
func (s *ServerStore) get(ctx context.Context, id string) (*Data, error) {
	if s.data != nil {
		stored, err := s.data.GetData(ctx, id)
		if err != nil {
			return nil, unavailable(err)
		}
		if stored == nil {
			return nil, nil
		}
		return clone(stored), nil
	}
	raw, err := s.backend.Get(ctx, id)
	if err != nil {
		return nil, unavailable(err)
	}
	return decodeRecord(raw)
}

// clone copies d, and its Device, so that the copy shares nothing mutable.
func clone(d *Data) *Data {
	c := *d
	if d.Device != nil {
		dev := *d.Device
		c.Device = &dev
	}
	return &c
}

// Save implements [Store]. It writes the record, then the cookie; when
// the backend fails it returns an error wrapping [ErrUnavailable] and the
// previous record and cookie stay as they were. Saving a session the
// request already carries only updates an existing record: when that
// record was ended meanwhile, Save returns [ErrEnded] and writes nothing.
// A session already past Expires is deleted instead.
func (s *ServerStore) Save(w http.ResponseWriter, r *http.Request, d *Data) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	if !validID(d.ID) {
		return fmt.Errorf("session: session id %q is not a cookie-safe token of at most %d bytes", d.ID, maxIDLen)
	}
	ttl := d.Expires.Sub(s.now())
	if ttl < time.Second {
		return s.Delete(w, r, d)
	}
	current, _ := s.cookieID(r)
	update := current == d.ID
	index := indexKeys(d)
	var err error
	if s.data != nil {
		err = s.data.SetData(r.Context(), d.ID, clone(d), ttl, index, update)
	} else {
		var raw []byte
		if raw, err = d.MarshalBinary(); err != nil {
			return err
		}
		err = s.backend.Set(r.Context(), d.ID, raw, ttl, index, update)
	}
	switch {
	case errors.Is(err, ErrEnded):
		return fmt.Errorf("session: not saved: %w", err)
	case err != nil:
		return unavailable(err)
	}
	s.jar.set(w, s.jar.name, s.sign(d.ID), int(ttl/time.Second))
	return nil
}

// Delete implements [Store]: it deletes the record of d and of the
// request's cookie, then expires the cookie in this response. When the
// backend fails, it returns an error wrapping [ErrUnavailable] and leaves
// the cookie as it was, so that a retry, which carries it, can delete the
// record: a cookie expired over a record that survives would leave the
// session usable by any copy of the cookie, and deletable by no one.
func (s *ServerStore) Delete(w http.ResponseWriter, r *http.Request, d *Data) error {
	var ids []string
	if d != nil && d.ID != "" {
		ids = append(ids, d.ID)
	}
	if id, ok := s.cookieID(r); ok && id != "" && (d == nil || id != d.ID) {
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		if err := s.backend.Delete(r.Context(), ids...); err != nil {
			return unavailable(err)
		}
	}
	s.jar.expire(w, s.jar.name)
	return nil
}

// EndMatching implements [Store]: it finds m's sessions through the
// backend's index and deletes those that m matches (created at or before
// m.At), so the next request of those users on any replica has none.
func (s *ServerStore) EndMatching(ctx context.Context, m Match) error {
	_, err := s.TakeMatching(ctx, m)
	return err
}

// TakeMatching implements [MatchTaker]: it ends the sessions m selects,
// as EndMatching does, and returns them.
func (s *ServerStore) TakeMatching(ctx context.Context, m Match) ([]*Data, error) {
	var ids []string
	if m.ID != "" {
		ids = []string{m.ID}
	} else if key := matchKey(m); key != "" {
		var err error
		if ids, err = s.backend.Lookup(ctx, key); err != nil {
			return nil, unavailable(err)
		}
	}
	var ended []string
	var data []*Data
	for _, id := range ids {
		d, err := s.get(ctx, id)
		switch {
		case errors.Is(err, ErrUnavailable):
			return nil, err
		case err != nil:
			ended = append(ended, id) // a corrupt record is no session
		case d != nil && m.Matches(d):
			ended = append(ended, id)
			data = append(data, d)
		}
	}
	if len(ended) == 0 {
		return nil, nil
	}
	if err := s.backend.Delete(ctx, ended...); err != nil {
		return nil, unavailable(err)
	}
	return data, nil
}

// Index keys tag a session with its provider session and its user:
// "sid|" + issuer + "|" + sid and "sub|" + issuer + "|" + subject. They
// are only ever looked up, and every session found is checked against
// the Match, so an issuer containing "|" cannot select another's session.
func indexKeys(d *Data) []string {
	var keys []string
	if d.Issuer == "" {
		return nil
	}
	if d.SID != "" {
		keys = append(keys, "sid|"+d.Issuer+"|"+d.SID)
	}
	if d.Subject != "" {
		keys = append(keys, "sub|"+d.Issuer+"|"+d.Subject)
	}
	return keys
}

func matchKey(m Match) string {
	switch {
	case m.Issuer == "":
		return ""
	case m.SID != "":
		return "sid|" + m.Issuer + "|" + m.SID
	case m.Subject != "":
		return "sub|" + m.Issuer + "|" + m.Subject
	}
	return ""
}
