// Package storetest checks that a [session.Store] keeps the contract the
// middleware relies on: round trips, rejected tampering, deletion,
// server-side expiry (idle, absolute, rolling) under an injected clock,
// and back-channel logout by sid and by subject, respecting the logout's
// time. Stores in other modules run the same checks.
//
// It is for tests only.
package storetest

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// Harness describes the store under test.
type Harness struct {
	// New returns a fresh, empty store whose clock is now. It is called
	// once for each check.
	New func(t *testing.T, now func() time.Time) session.Store
	// ServerSide reports whether sessions live on the server. Every store,
	// server-side or not, must refuse a deleted session's cookie replayed
	// from a copy; stores that keep sessions in the browser do it with
	// their revocation list.
	ServerSide bool
}

// Lifetime is the session lifetime the checks use: 30 minutes idle, 2
// hours absolute.
var Lifetime = session.Lifetime{Idle: 30 * time.Minute, Absolute: 2 * time.Hour}

// Issuer is the issuer of the sessions the checks create.
const Issuer = "https://op.example"

// Run runs every check as a subtest of t.
func Run(t *testing.T, h Harness) {
	checks := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"RoundTrip", roundTrip},
		{"NoCookie", noCookie},
		{"Tampered", tampered},
		{"Delete", deleteSession},
		{"DeleteEndsRolledCopies", deleteEndsRolledCopies},
		{"IdleExpiry", idleExpiry},
		{"RollingExtension", rolling},
		{"AbsoluteExpiryWhenActive", absoluteExpiry},
		{"EndMatchingBySID", endBySID},
		{"EndMatchingBySubject", endBySubject},
		{"EndMatchingRespectsAt", endRespectsAt},
		{"TakeMatchingReturnsEnded", takeMatching},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// Clock is a settable clock for tests, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Browser keeps cookies between requests, as a browser does for one site.
type Browser struct {
	cookies map[string]*http.Cookie
}

// NewBrowser returns a browser without cookies.
func NewBrowser() *Browser { return &Browser{cookies: map[string]*http.Cookie{}} }

// Request returns a GET request for path carrying the browser's cookies.
func (b *Browser) Request(path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.example"+path, nil)
	for _, c := range b.cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// Apply stores or expires the cookies a response sets.
func (b *Browser) Apply(rec *httptest.ResponseRecorder) {
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
}

// Cookies returns the browser's cookies.
func (b *Browser) Cookies() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range b.cookies {
		cc := *c
		out = append(out, &cc)
	}
	return out
}

// SetCookie puts c in the browser as if a response had set it.
func (b *Browser) SetCookie(c *http.Cookie) { b.cookies[c.Name] = c }

// NewData returns a session of subject with provider session sid, stamped
// at now with [Lifetime].
func NewData(subject, sid string, now time.Time) *session.Data {
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + Issuer + `","sub":"` + subject + `","sid":"` + sid + `"}`))
	d := &session.Data{
		Provider: "op", Issuer: Issuer, Subject: subject, SID: sid,
		Email: subject + "@example.com", Name: "User " + subject,
		IDToken: "eyJhbGciOiJSUzI1NiJ9." + claims + ".c2lnbmF0dXJl", AccessToken: "at-" + subject,
		TokenType: "Bearer", RefreshToken: "rt-" + subject, Expiry: now.Add(time.Hour).Truncate(time.Second),
		ExtraClaimsJSON: `{"email":"` + subject + `@example.com"}`,
	}
	Lifetime.Stamp(d, now)
	return d
}

type fixture struct {
	t     *testing.T
	clock *Clock
	store session.Store
}

func newFixture(t *testing.T, h Harness) *fixture {
	clock := NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	return &fixture{t: t, clock: clock, store: h.New(t, clock.Now)}
}

// login saves a brand-new session in a new browser.
func (f *fixture) login(subject, sid string) (*Browser, *session.Data) {
	f.t.Helper()
	b := NewBrowser()
	d := NewData(subject, sid, f.clock.Now())
	rec := httptest.NewRecorder()
	if err := f.store.Save(rec, b.Request("/"), d); err != nil {
		f.t.Fatalf("Save: %v", err)
	}
	if d.ID == "" {
		f.t.Fatal("Save left the session without an ID")
	}
	b.Apply(rec)
	return b, d
}

// load loads b's session, failing the test on error.
func (f *fixture) load(b *Browser) *session.Data {
	f.t.Helper()
	d, err := f.store.Load(b.Request("/"))
	if err != nil {
		f.t.Fatalf("Load: %v", err)
	}
	return d
}

// visit is one request as the middleware makes it: load, and write the
// session back when its idle timeout needs to roll.
func (f *fixture) visit(b *Browser) *session.Data {
	f.t.Helper()
	r := b.Request("/")
	d, err := f.store.Load(r)
	if err != nil {
		f.t.Fatalf("Load: %v", err)
	}
	if d != nil && Lifetime.NeedsTouch(d, f.clock.Now()) {
		Lifetime.Stamp(d, f.clock.Now())
		rec := httptest.NewRecorder()
		if err := f.store.Save(rec, r, d); err != nil {
			f.t.Fatalf("Save (touch): %v", err)
		}
		b.Apply(rec)
	}
	return d
}

func roundTrip(t *testing.T, h Harness) {
	f := newFixture(t, h)
	b, want := f.login("alice", "sid-1")
	got := f.load(b)
	if got == nil {
		t.Fatal("Load found no session after Save")
	}
	if got.ID != want.ID || got.Subject != want.Subject || got.SID != want.SID || got.IDToken != want.IDToken ||
		got.RefreshToken != want.RefreshToken || got.ExtraClaimsJSON != want.ExtraClaimsJSON ||
		!got.Expires.Equal(want.Expires) || !got.Created.Equal(want.Created) || !got.Expiry.Equal(want.Expiry) {
		t.Errorf("Load = %+v, want %+v", got, want)
	}
	got.Subject = "mallory" // the caller's copy: the stored session must not change
	if again := f.load(b); again == nil || again.Subject != "alice" {
		t.Errorf("changing a loaded session changed the stored one: %+v", again)
	}
}

func noCookie(t *testing.T, h Harness) {
	f := newFixture(t, h)
	if d := f.load(NewBrowser()); d != nil {
		t.Errorf("Load without a cookie = %+v, want nil", d)
	}
}

func tampered(t *testing.T, h Harness) {
	f := newFixture(t, h)
	b, _ := f.login("alice", "sid-1")
	for _, c := range b.Cookies() {
		v := []byte(c.Value)
		i := len(v) / 2
		if v[i] == 'A' {
			v[i] = 'B'
		} else {
			v[i] = 'A'
		}
		c.Value = string(v)
		b.SetCookie(c)
	}
	d, err := f.store.Load(b.Request("/"))
	if !errors.Is(err, session.ErrInvalid) || d != nil {
		t.Errorf("Load of a tampered cookie = %v, %v; want nil, ErrInvalid", d, err)
	}
}

func deleteSession(t *testing.T, h Harness) {
	f := newFixture(t, h)
	b, d := f.login("alice", "sid-1")
	replay := b.Cookies()
	rec := httptest.NewRecorder()
	if err := f.store.Delete(rec, b.Request("/"), d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	expired := 0
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			expired++
		}
	}
	if expired == 0 {
		t.Error("Delete expired no cookie")
	}
	b.Apply(rec)
	if d := f.load(b); d != nil {
		t.Errorf("Load after Delete = %+v, want nil", d)
	}
	old := NewBrowser()
	for _, c := range replay {
		old.SetCookie(c)
	}
	if d := f.load(old); d != nil {
		t.Errorf("Load with the deleted session's replayed cookie = %+v, want nil", d)
	}
	// Nor can the copy roll its idle timeout forward.
	f.clock.Advance(Lifetime.Idle / 2)
	if d := f.visit(old); d != nil {
		t.Errorf("a visit with the deleted session's copy = %+v, want nil", d)
	}
}

// deleteEndsRolledCopies: a copy of the cookie that rolled its idle
// timeout further than the browser's own (it was used later) is refused
// after the browser's copy is deleted, until past its own expiry.
func deleteEndsRolledCopies(t *testing.T, h Harness) {
	f := newFixture(t, h)
	b, _ := f.login("alice", "sid-1")
	copied := NewBrowser()
	for _, c := range b.Cookies() {
		copied.SetCookie(c)
	}
	f.clock.Advance(Lifetime.Idle / 2)
	if d := f.visit(copied); d == nil {
		t.Fatal("the copy does not load before logout")
	}
	r := b.Request("/")
	d, err := f.store.Load(r)
	if err != nil || d == nil {
		t.Fatalf("Load = %v, %v", d, err)
	}
	rec := httptest.NewRecorder()
	if err := f.store.Delete(rec, r, d); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, step := range []time.Duration{0, Lifetime.Idle/2 + time.Minute} {
		f.clock.Advance(step)
		if d := f.load(copied); d != nil {
			t.Errorf("%s after Delete, the rolled copy loads %+v, want nil", step, d)
		}
	}
}

func idleExpiry(t *testing.T, h Harness) {
	f := newFixture(t, h)
	b, _ := f.login("alice", "sid-1")
	f.clock.Advance(Lifetime.Idle - time.Second)
	if d := f.load(b); d == nil {
		t.Fatal("session gone before its idle timeout")
	}
	f.clock.Advance(time.Second)
	if d := f.load(b); d != nil {
		t.Errorf("session still loads after %v idle", Lifetime.Idle)
	}
}

func rolling(t *testing.T, h Harness) {
	f := newFixture(t, h)
	b, _ := f.login("alice", "sid-1")
	// Active every 20 minutes for well past one idle timeout.
	for i := range 4 {
		f.clock.Advance(20 * time.Minute)
		if d := f.visit(b); d == nil {
			t.Fatalf("visit %d after %v: session gone though active", i+1, time.Duration(i+1)*20*time.Minute)
		}
	}
	f.clock.Advance(Lifetime.Idle + time.Second)
	if d := f.load(b); d != nil {
		t.Error("session still loads after an idle timeout following activity")
	}
}

func absoluteExpiry(t *testing.T, h Harness) {
	f := newFixture(t, h)
	b, d := f.login("alice", "sid-1")
	end := d.Created.Add(Lifetime.Absolute)
	for f.clock.Now().Add(10 * time.Minute).Before(end) {
		f.clock.Advance(10 * time.Minute)
		if d := f.visit(b); d == nil {
			t.Fatalf("session gone at %v though active and within its absolute lifetime", f.clock.Now().Sub(end))
		}
	}
	f.clock.Advance(end.Sub(f.clock.Now()))
	if d := f.visit(b); d != nil {
		t.Errorf("session still loads at its absolute timeout (expires %v)", d.Expires)
	}
}

func (f *fixture) end(m session.Match) {
	f.t.Helper()
	if err := f.store.EndMatching(context.Background(), m); err != nil {
		f.t.Fatalf("EndMatching: %v", err)
	}
}

func endBySID(t *testing.T, h Harness) {
	f := newFixture(t, h)
	phone, _ := f.login("alice", "sid-phone")
	laptop, _ := f.login("alice", "sid-laptop")
	f.clock.Advance(time.Minute)
	now := f.clock.Now()
	f.end(session.Match{Issuer: Issuer, SID: "sid-phone", At: now, Until: now.Add(Lifetime.Absolute)})
	if d := f.load(phone); d != nil {
		t.Error("session of the ended sid still loads")
	}
	if d := f.load(laptop); d == nil {
		t.Error("session of another sid of the same user was ended")
	}
}

func endBySubject(t *testing.T, h Harness) {
	f := newFixture(t, h)
	phone, _ := f.login("alice", "sid-phone")
	laptop, _ := f.login("alice", "sid-laptop")
	bob, _ := f.login("bob", "sid-bob")
	f.clock.Advance(time.Minute)
	now := f.clock.Now()
	f.end(session.Match{Issuer: "https://other.example", Subject: "bob", At: now, Until: now.Add(Lifetime.Absolute)})
	if d := f.load(bob); d == nil {
		t.Error("a logout from another issuer ended a session")
	}
	f.end(session.Match{Issuer: Issuer, Subject: "alice", At: now, Until: now.Add(Lifetime.Absolute)})
	if f.load(phone) != nil || f.load(laptop) != nil {
		t.Error("a session of the ended subject still loads")
	}
	if d := f.load(bob); d == nil {
		t.Error("another user's session was ended")
	}
}

func endRespectsAt(t *testing.T, h Harness) {
	f := newFixture(t, h)
	before, _ := f.login("alice", "sid-1")
	at := f.clock.Now()
	f.clock.Advance(time.Minute)
	after, _ := f.login("alice", "sid-1") // logged in again after the logout was issued
	f.end(session.Match{Issuer: Issuer, SID: "sid-1", At: at, Until: at.Add(Lifetime.Absolute)})
	if d := f.load(before); d != nil {
		t.Error("session created at the logout's time still loads")
	}
	if d := f.load(after); d == nil {
		t.Error("session created after the logout's time was ended")
	}
	f.end(session.Match{Issuer: Issuer, Subject: "alice", At: at, Until: at.Add(Lifetime.Absolute)})
	if d := f.load(after); d == nil {
		t.Error("session created after the logout's time was ended by subject")
	}
}

// takeMatching: a store that is a [session.MatchTaker] returns exactly
// the sessions it ended, whole, and they are gone.
func takeMatching(t *testing.T, h Harness) {
	f := newFixture(t, h)
	taker, ok := f.store.(session.MatchTaker)
	if !ok {
		t.Skip("the store is no session.MatchTaker")
	}
	phone, d := f.login("alice", "sid-phone")
	laptop, _ := f.login("alice", "sid-laptop")
	f.clock.Advance(time.Minute)
	now := f.clock.Now()
	ended, err := taker.TakeMatching(context.Background(), session.Match{Issuer: Issuer, SID: "sid-phone", At: now, Until: now.Add(Lifetime.Absolute)})
	if err != nil {
		t.Fatalf("TakeMatching: %v", err)
	}
	if len(ended) != 1 || ended[0].ID != d.ID || ended[0].Subject != "alice" || ended[0].AccessToken != d.AccessToken {
		t.Fatalf("TakeMatching returned %d sessions %+v, want the one of sid-phone", len(ended), ended)
	}
	if d := f.load(phone); d != nil {
		t.Error("the session TakeMatching returned still loads")
	}
	if d := f.load(laptop); d == nil {
		t.Error("a session of another sid was ended")
	}
	if ended, err := taker.TakeMatching(context.Background(), session.Match{Issuer: Issuer, SID: "sid-unknown", At: now}); err != nil || len(ended) != 0 {
		t.Errorf("TakeMatching of an unknown sid = %v, %v; want none", ended, err)
	}
}
