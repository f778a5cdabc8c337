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
	// HashKey authenticates the cookie (HMAC-SHA256): at least 32 bytes.
	HashKey []byte
	// BlockKey encrypts the cookie (AES): 16, 24 or 32 bytes.
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
	// ErrTooLarge past it. At most 16 cookies of 3800 bytes (60800 bytes):
	// NewCookieStore rejects a larger MaxSize.
	MaxSize int
	// Revocations remembers ended sessions, and is checked on every Load:
	// those deleted (logged out), so that a copy of their cookie opens
	// nothing, and those ended by the provider (back-channel and
	// front-channel logout). Default: a [MemoryRevocations] list with
	// the default limits, which only covers one process; give a shared
	// list (such as the redisstore module's) when there are several
	// replicas.
	Revocations Revocations
	// CacheSize caps the memory, in bytes, of the cache of cookie values
	// already verified and decoded: a browser sends the same cookie until
	// the session is next written, and its later requests then skip the
	// decryption and decoding (expiry and revocation are still checked on
	// each). Default 8 MiB, about a thousand sessions of 4 KB; negative
	// turns the cache off.
	//
	// A value is cached the second time it is seen, so a site with more
	// users than the cache holds pays nothing for it; to serve them from
	// the cache, allow twice an entry (the cookie's bytes plus its
	// session's, 9 KB for a 5 KB cookie) for each user who comes back
	// while the cache would still hold them: 192 MiB for 10,000 such
	// users. BENCHMARKS.md measures both.
	CacheSize int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// defaultCacheSize is CookieOptions.CacheSize's default.
const defaultCacheSize = 8 << 20

// chunkSize is the largest value put in one cookie; with the name and the
// attributes it stays under the 4096 bytes browsers keep per cookie.
const chunkSize = 3800

// maxChunks is the most cookies one session is split over.
const maxChunks = 16

// CookieStore keeps sessions in the browser, encrypted and authenticated
// with [securecookie], split over as many cookies as the session needs.
// It is the default store: nothing to run on the server but its
// revocation list, which remembers the sessions logged out or ended by
// the provider for as long as their cookies could still be used.
type CookieStore struct {
	jar         cookieJar
	maxChunks   int
	codec       *valueCodec
	revocations Revocations
	verified    *verifiedCache // nil when off
	now         func() time.Time
}

// NewCookieStore returns a CookieStore, or an error if the options are
// invalid.
func NewCookieStore(opts CookieOptions) (*CookieStore, error) {
	if _, err := codecsFor(opts.Keys); err != nil {
		return nil, err
	}
	if opts.MaxSize == 0 {
		opts.MaxSize = 24 << 10
	}
	if opts.MaxSize < chunkSize {
		return nil, fmt.Errorf("session: MaxSize %d is below one cookie (%d bytes)", opts.MaxSize, chunkSize)
	}
	if opts.MaxSize > maxChunks*chunkSize {
		return nil, fmt.Errorf("session: MaxSize %d is above %d cookies of %d bytes (%d bytes)", opts.MaxSize, maxChunks, chunkSize, maxChunks*chunkSize)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Revocations == nil {
		opts.Revocations = newMemoryRevocations(RevocationLimits{}, opts.Now)
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = defaultCacheSize
	}
	jar := newCookieJar(opts.Name, opts.Secure)
	codec, err := newValueCodec(jar.name, opts.Keys)
	if err != nil {
		return nil, err
	}
	return &CookieStore{
		jar:         jar,
		codec:       codec,
		maxChunks:   (opts.MaxSize + chunkSize - 1) / chunkSize,
		revocations: opts.Revocations,
		verified:    newVerifiedCache(opts.CacheSize),
		now:         opts.Now,
	}, nil
}

// codecsFor checks key pairs and turns them into securecookie codecs that
// carry raw bytes (the session's own binary form, no gob): the format
// valueCodec writes and reads.
func codecsFor(keys []KeyPair) ([]securecookie.Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("session: at least one key pair is required")
	}
	codecs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		if len(k.HashKey) < 32 {
			return nil, fmt.Errorf("session: key pair %d: hash key must be at least 32 bytes, got %d", i, len(k.HashKey))
		}
		if allZero(k.HashKey) || allZero(k.BlockKey) {
			return nil, fmt.Errorf("session: key pair %d: a key is all zeros", i)
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

// SecureCookies reports whether the store marks its cookies Secure.
func (s *CookieStore) SecureCookies() bool { return s.jar.secure }

// Load implements [Store].
func (s *CookieStore) Load(r *http.Request) (*Data, error) {
	chunks, ok := s.jar.readChunks(r, s.maxChunks)
	if !ok {
		return nil, ErrInvalid
	}
	parts := chunks.parts[:chunks.n]
	if len(parts) == 0 {
		return nil, nil
	}
	var d *Data
	if known, fp := s.verified.lookup(parts); known != nil {
		d = clone(known)
	} else {
		d = new(Data)
		size, err := s.codec.decode(parts, d)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		s.verified.remember(fp, parts, d, size)
	}
	return live(r.Context(), d, s.now(), s.revocations)
}

// Save implements [Store]. It fails with [ErrTooLarge], writing nothing,
// when the encoded session exceeds MaxSize.
func (s *CookieStore) Save(w http.ResponseWriter, r *http.Request, d *Data) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	value, err := s.codec.encode(d)
	if err != nil {
		return fmt.Errorf("session: encoding cookie: %w", err)
	}
	n := (len(value) + chunkSize - 1) / chunkSize
	if n > s.maxChunks {
		return fmt.Errorf("%w: %d bytes of cookies, the cap is %d (raise CookieOptions.MaxSize, or keep sessions on the server with a ServerStore)", ErrTooLarge, len(value), s.maxChunks*chunkSize)
	}
	maxAge := max(int(d.Expires.Sub(s.now())/time.Second), 1)
	for i := range n {
		s.jar.set(w, chunkName(s.jar.name, i), value[i*chunkSize:min((i+1)*chunkSize, len(value))], maxAge)
	}
	s.forget(r) // the browser now has the new value
	// Expire chunks of a larger session this one replaces.
	for _, name := range s.jar.present(r, s.maxChunks) {
		if chunkIndex(s.jar.name, name) >= n {
			s.jar.expire(w, name)
		}
	}
	return nil
}

// Delete implements [Store]: it records d's logout in the revocation
// list, so that a copy of its cookie opens nothing any more, then expires
// the first cookie and every chunk the request carried. When the list
// cannot be reached, it returns an error wrapping [ErrUnavailable] and
// leaves the cookies as they were, so that a retry can record it.
func (s *CookieStore) Delete(w http.ResponseWriter, r *http.Request, d *Data) error {
	if err := recordLogout(r.Context(), s.revocations, d, s.now()); err != nil {
		return err
	}
	s.jar.expireAll(w, r, s.maxChunks)
	s.forget(r)
	return nil
}

// forget drops the request's cookie value from the cache of verified
// values.
func (s *CookieStore) forget(r *http.Request) {
	if chunks, ok := s.jar.readChunks(r, s.maxChunks); ok {
		s.verified.remove(chunks.parts[:chunks.n])
	}
}

// EndMatching implements [Store] by recording m in the revocation list,
// which Load checks.
func (s *CookieStore) EndMatching(ctx context.Context, m Match) error {
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

// set writes the Set-Cookie header http.SetCookie would for these
// attributes, without its byte by byte sanitizing of a value of up to
// 3800 bytes: the stores' values are base64 (securecookie's, or an id and
// its signature), which a cookie value takes as it is. A name that is not
// a valid cookie name goes through http.SetCookie, which drops it.
func (j cookieJar) set(w http.ResponseWriter, name, value string, maxAge int) {
	if !validCookieName(name) || maxAge <= 0 {
		http.SetCookie(w, &http.Cookie{
			Name: name, Value: value, Path: "/", MaxAge: maxAge,
			HttpOnly: true, Secure: j.secure, SameSite: http.SameSiteLaxMode,
		})
		return
	}
	var b strings.Builder
	b.Grow(len(name) + len(value) + 64)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString("; Path=/; Max-Age=")
	b.WriteString(strconv.Itoa(maxAge))
	b.WriteString("; HttpOnly")
	if j.secure {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=Lax")
	w.Header().Add("Set-Cookie", b.String())
}

// validCookieName reports whether name is an HTTP token, as cookie names
// must be.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
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
// or -1: the base itself is chunk 0, base.1 to base.99 the others, written
// in plain digits without a leading zero (never "+1", "01" or "0").
func chunkIndex(base, name string) int {
	if name == base {
		return 0
	}
	rest, ok := strings.CutPrefix(name, base+".")
	if !ok || len(rest) == 0 || len(rest) > 2 || rest[0] == '0' {
		return -1
	}
	i := 0
	for j := 0; j < len(rest); j++ {
		c := rest[j]
		if c < '0' || c > '9' {
			return -1
		}
		i = i*10 + int(c-'0')
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

// chunks are the values of a family's cookies, in order.
type chunks struct {
	parts [maxChunks]string
	n     int
}

// readChunks parses the Cookie header once and returns the family's
// chunks in order, without allocating. It reports false when the chunks
// are inconsistent: a gap, a duplicate, or more than maxChunks.
func (j cookieJar) readChunks(r *http.Request, maxChunks int) (chunks, bool) {
	var c chunks
	parts := &c.parts
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
		return chunks{}, false
	}
	c.n = count
	return c, true
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
