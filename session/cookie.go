package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// KeyPair is one generation of session keys: HashKey authenticates (HMAC
// SHA-256, at least 32 bytes) and BlockKey encrypts (AES, 16, 24 or 32
// bytes). Keys are given newest first: the first pair writes, every pair
// reads, so a new pair can be rolled in while older sessions stay valid.
type KeyPair struct {
	HashKey  []byte
	BlockKey []byte
}

// CookieOptions configures a [CookieStore].
type CookieOptions struct {
	// Name is the cookie name; chunks after the first are named Name.1,
	// Name.2 and so on. Default "endsession". When Secure is set the name
	// gets the "__Host-" prefix, which pins the cookie to this host and to
	// the path "/".
	Name string
	// Secure marks cookies Secure; set it when the application is served
	// over https.
	Secure bool
	// Keys are the key pairs, newest first. At least one is required.
	Keys []KeyPair
	// MaxSize caps the total size of all the session's cookie values, in
	// bytes. Default 24 KiB, enough for a 10 KB session. Save fails with
	// ErrTooLarge past it.
	MaxSize int
	// Revocations remembers sessions ended by the provider (back-channel
	// logout), and is checked on every Load. Default: a
	// [MemoryRevocations] list, which only covers one process; give a
	// shared list when there are several replicas.
	Revocations Revocations
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// chunkSize is the largest value put in one cookie; with the name and the
// attributes it stays under the 4096 bytes browsers keep per cookie.
const chunkSize = 3800

// CookieStore keeps sessions in the browser, encrypted and authenticated
// with [securecookie], split over as many cookies as the session needs.
// It is the default store: nothing to run on the server.
type CookieStore struct {
	jar         cookieJar
	codecs      []securecookie.Codec
	maxChunks   int
	revocations Revocations
	now         func() time.Time
}

// NewCookieStore returns a CookieStore, or an error if the options are
// invalid.
func NewCookieStore(opts CookieOptions) (*CookieStore, error) {
	codecs, err := codecsFor(opts.Keys)
	if err != nil {
		return nil, err
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = 24 << 10
	}
	if opts.MaxSize < chunkSize {
		return nil, fmt.Errorf("session: MaxSize %d is below one cookie (%d bytes)", opts.MaxSize, chunkSize)
	}
	if opts.Revocations == nil {
		opts.Revocations = NewMemoryRevocations()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &CookieStore{
		jar:         newCookieJar(opts.Name, opts.Secure),
		codecs:      codecs,
		maxChunks:   (opts.MaxSize + chunkSize - 1) / chunkSize,
		revocations: opts.Revocations,
		now:         opts.Now,
	}, nil
}

// codecsFor checks key pairs and turns them into securecookie codecs that
// carry raw bytes (the session's own binary form, no gob).
func codecsFor(keys []KeyPair) ([]securecookie.Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("session: at least one key pair is required")
	}
	codecs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		if len(k.HashKey) < 32 {
			return nil, fmt.Errorf("session: key pair %d: hash key must be at least 32 bytes, got %d", i, len(k.HashKey))
		}
		switch len(k.BlockKey) {
		case 16, 24, 32:
		default:
			return nil, fmt.Errorf("session: key pair %d: block key must be 16, 24 or 32 bytes, got %d", i, len(k.BlockKey))
		}
		c := securecookie.New(k.HashKey, k.BlockKey)
		c.SetSerializer(securecookie.NopEncoder{})
		c.MaxLength(0) // chunking enforces the size cap
		c.MaxAge(0)    // Data.Expires, inside the authenticated value, bounds the age
		codecs[i] = c
	}
	return codecs, nil
}

// CookieName is the name of the session's first cookie.
func (s *CookieStore) CookieName() string { return s.jar.name }

// Load implements [Store].
func (s *CookieStore) Load(r *http.Request) (*Data, error) {
	value, ok := s.jar.readChunks(r, s.maxChunks)
	if !ok {
		return nil, ErrInvalid
	}
	if value == "" {
		return nil, nil
	}
	var raw []byte
	if err := securecookie.DecodeMulti(s.jar.name, value, &raw, s.codecs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	d := new(Data)
	if err := d.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !d.Valid(s.now()) {
		return nil, nil
	}
	revoked, err := s.revocations.Revoked(r.Context(), d)
	if err != nil {
		return nil, unavailable(err)
	}
	if revoked {
		return nil, nil
	}
	return d, nil
}

// Save implements [Store]. It fails with [ErrTooLarge], writing nothing,
// when the encoded session exceeds MaxSize.
func (s *CookieStore) Save(w http.ResponseWriter, r *http.Request, d *Data) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	raw, err := d.MarshalBinary()
	if err != nil {
		return err
	}
	value, err := s.codecs[0].Encode(s.jar.name, raw)
	if err != nil {
		return fmt.Errorf("session: encoding cookie: %w", err)
	}
	n := (len(value) + chunkSize - 1) / chunkSize
	if n > s.maxChunks {
		return fmt.Errorf("%w: %d bytes of cookies, the cap is %d", ErrTooLarge, len(value), s.maxChunks*chunkSize)
	}
	maxAge := max(int(d.Expires.Sub(s.now())/time.Second), 1)
	for i := range n {
		s.jar.set(w, chunkName(s.jar.name, i), value[i*chunkSize:min((i+1)*chunkSize, len(value))], maxAge)
	}
	// Expire chunks of a larger session this one replaces.
	for _, name := range s.jar.present(r, s.maxChunks) {
		if chunkIndex(s.jar.name, name) >= n {
			s.jar.expire(w, name)
		}
	}
	return nil
}

// Delete implements [Store]: it expires the first cookie and every chunk
// the request carried.
func (s *CookieStore) Delete(w http.ResponseWriter, r *http.Request, _ *Data) error {
	s.jar.expireAll(w, r, s.maxChunks)
	return nil
}

// EndSessions implements [Store] by recording m in the revocation list,
// which Load checks.
func (s *CookieStore) EndSessions(ctx context.Context, m Match) error {
	return s.revocations.Revoke(ctx, m)
}

// cookieJar writes and reads one family of cookies with the session's
// attributes: Path=/, HttpOnly, SameSite=Lax, Secure (with the __Host-
// prefix) on https.
type cookieJar struct {
	name   string
	secure bool
}

func newCookieJar(name string, secure bool) cookieJar {
	if name == "" {
		name = "endsession"
	}
	if secure && !strings.HasPrefix(name, "__Host-") {
		name = "__Host-" + name
	}
	return cookieJar{name: name, secure: secure}
}

func (j cookieJar) set(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: j.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (j cookieJar) expire(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: j.secure, SameSite: http.SameSiteLaxMode,
	})
}

// expireAll expires the first cookie and every chunk r carries.
func (j cookieJar) expireAll(w http.ResponseWriter, r *http.Request, maxChunks int) {
	j.expire(w, j.name)
	for _, name := range j.present(r, maxChunks) {
		if name != j.name {
			j.expire(w, name)
		}
	}
}

func chunkName(base string, i int) string {
	if i == 0 {
		return base
	}
	return base + "." + strconv.Itoa(i)
}

// chunkIndex returns the chunk number of a cookie name of the family base,
// or -1.
func chunkIndex(base, name string) int {
	if name == base {
		return 0
	}
	rest, ok := strings.CutPrefix(name, base+".")
	if !ok || len(rest) == 0 || len(rest) > 2 || rest[0] == '0' {
		return -1
	}
	i, err := strconv.Atoi(rest)
	if err != nil {
		return -1
	}
	return i
}

// eachCookie calls fn for every name=value pair of the request's Cookie
// headers, without allocating.
func eachCookie(r *http.Request, fn func(name, value string)) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			name, value, ok := strings.Cut(part, "=")
			if !ok || name == "" {
				continue
			}
			if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			fn(name, value)
		}
	}
}

// readChunks parses the Cookie header once and joins the family's chunks
// in order. It reports false when the chunks are inconsistent: a gap, a
// duplicate, or more than maxChunks.
func (j cookieJar) readChunks(r *http.Request, maxChunks int) (string, bool) {
	var parts [16]string
	count, last, ok := 0, -1, true
	eachCookie(r, func(name, value string) {
		i := chunkIndex(j.name, name)
		switch {
		case i < 0:
			return
		case i >= maxChunks || i >= len(parts) || parts[i] != "" || value == "":
			ok = false
			return
		}
		parts[i] = value
		count++
		last = max(last, i)
	})
	if !ok || count != last+1 {
		return "", false
	}
	if count == 1 {
		return parts[0], true
	}
	return strings.Join(parts[:count], ""), true
}

// present lists the names of the family's cookies on r.
func (j cookieJar) present(r *http.Request, maxChunks int) []string {
	var names []string
	eachCookie(r, func(name, _ string) {
		if i := chunkIndex(j.name, name); i >= 0 && i < maxChunks+8 {
			names = append(names, name)
		}
	})
	return names
}
