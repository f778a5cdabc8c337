package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// A Locker grants short locks shared by every replica of the application,
// so that one replica at a time refreshes a session's tokens: with a
// provider that rotates refresh tokens, a second refresh with the same
// token would fail, and many providers then revoke the whole grant.
type Locker interface {
	// Lock waits until it holds the lock named key, or ctx is done, and
	// returns the function that releases it. The lock lapses by itself
	// after ttl, so that a replica that stops never holds it for long.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)
}

// LockerFunc adapts a function to a [Locker], as [net/http.HandlerFunc]
// does handlers; for example around a lock whose release takes a context:
//
//	cfg.Locker = middleware.LockerFunc(func(ctx context.Context, key string, ttl time.Duration) (func(), error) {
//		lock, err := locks.Lock(ctx, key, ttl)
//		if err != nil {
//			return nil, err
//		}
//		return func() { lock.Release(context.Background()) }, nil
//	})
type LockerFunc func(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)

// Lock implements [Locker] by calling f.
func (f LockerFunc) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	return f(ctx, key, ttl)
}

// refreshDue reports whether d's access token should be refreshed at now:
// within margin of its expiry, and within a quarter of its lifetime when
// that is shorter, so that a short-lived token is refreshed once in its
// life rather than at every request. It is on every request's path: no
// allocation, no clock.
func refreshDue(d *session.Data, now time.Time, margin time.Duration) bool {
	if d.RefreshToken == "" || d.Expiry.IsZero() {
		return false
	}
	if !d.TokenIssued.IsZero() {
		margin = min(margin, d.Expiry.Sub(d.TokenIssued)/4)
	}
	return !now.Add(margin).Before(d.Expiry)
}

// tokenExpired reports whether d's access token has expired at now.
func tokenExpired(d *session.Data, now time.Time) bool {
	return !d.Expiry.IsZero() && !now.Before(d.Expiry)
}

// tokenExpiry is when tok expires, counted on the middleware's clock from
// its expires_in when it has one.
func tokenExpiry(tok *oauth2.Token, now time.Time) time.Time {
	if tok.ExpiresIn > 0 {
		return now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return tok.Expiry
}

// errGrantEnded marks a refresh the provider refused for good
// (invalid_grant), or whose answer brought an ID token that fails its
// checks (another user, another client...): the session ends.
var errGrantEnded = errors.New("the provider ended the grant")

// refreshResult is the outcome of one refresh, shared by the requests that
// waited for it. Data is read-only: each request takes a copy.
type refreshResult struct {
	// data is the session to go on with; nil with ended or after a failure.
	data *session.Data
	// ended reports that the session is over.
	ended bool
	// saved reports that data was written to the store; the waiters write
	// it in their own responses too (cookie stores keep it there).
	saved bool
}

// refreshSession refreshes d's tokens before the application sees the
// request. Concurrent requests that carry the same refresh token share one
// refresh, and a request whose refresh token was spent within RefreshGrace
// gets the session that refresh made. It returns the session to go on
// with: the refreshed one, d itself when the refresh failed (the provider
// is down: the old token is used), or nil when the session ended (the
// grant was revoked).
func (m *Middleware) refreshSession(w http.ResponseWriter, r *http.Request, d *session.Data, now time.Time) *session.Data {
	p, ok := m.providers[d.Provider]
	if !ok || !p.HasLogin() {
		return d
	}
	res, leader := m.refreshes.do(r.Context(), spentKey(d), func() refreshResult {
		return m.refreshLeader(w, r, p, d, now)
	})
	switch {
	case res.ended:
		if !leader {
			m.store.Delete(w, r, d)
		}
		return nil
	case res.data == nil:
		return d
	}
	cp := *res.data
	if !leader && res.saved {
		if err := m.store.Save(w, r, &cp); err != nil {
			m.log.WarnContext(r.Context(), "refreshed session not saved", "event", "refresh", "provider", p.Name,
				"correlation_id", correlationID(r), "reason", describe(err))
		}
	}
	return &cp
}

// refreshLeader is the one refresh of a refresh token in this process. A
// token spent within RefreshGrace gets that refresh's result. Otherwise,
// under the Locker when there is one, it looks again for a result (another
// replica may have just refreshed) and reads the session again (a
// server-side store holds the refreshed one), redeems the refresh token,
// remembers the result, and saves the session or, when the provider ended
// the grant, deletes it.
func (m *Middleware) refreshLeader(w http.ResponseWriter, r *http.Request, p *provider, d *session.Data, now time.Time) refreshResult {
	cid := correlationID(r)
	fail := func(what string, err error) refreshResult {
		m.log.WarnContext(r.Context(), "token refresh failed; the session goes on with its current tokens", "event", "refresh",
			"provider", p.Name, "step", what, "correlation_id", cid, "reason", describe(err))
		m.observe(r.Context(), Event{Kind: EventRefresh, Provider: p.Name, Outcome: OutcomeFailed, Code: what})
		return refreshResult{}
	}
	// The refresh outlives a request that gives up: others wait for it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), m.cfg.ProviderTimeout)
	defer cancel()
	if nd := m.recall(ctx, d, now); nd != nil {
		return m.takeRefreshed(w, r, p, nd)
	}
	if now.UnixNano() < p.refreshPausedUntil.Load() {
		return refreshResult{}
	}
	if m.cfg.Locker != nil {
		unlock, err := m.cfg.Locker.Lock(ctx, refreshLockKey(d.ID), m.cfg.ProviderTimeout)
		if err != nil {
			return fail("lock", err)
		}
		defer unlock()
		if nd := m.recall(ctx, d, now); nd != nil {
			return m.takeRefreshed(w, r, p, nd)
		}
		fresh, err := m.store.Load(r)
		switch {
		case err != nil:
			return fail("reread", err)
		case fresh == nil || fresh.ID != d.ID:
			m.log.InfoContext(r.Context(), "session ended while waiting to refresh", "event", "refresh", "provider", p.Name, "correlation_id", cid)
			m.store.Delete(w, r, d)
			return refreshResult{ended: true}
		case !refreshDue(fresh, now, m.cfg.RefreshMargin):
			return refreshResult{data: fresh}
		}
		// A cookie holds an older session than a token source that
		// refreshed it after the response was written.
		if !fresh.Expiry.Before(d.Expiry) {
			d = fresh
		}
	}
	resolved, err := m.resolve(ctx, p)
	if err != nil {
		p.pauseRefresh(now)
		return fail("discovery", err)
	}
	nd, err := m.redeem(ctx, p, resolved, d)
	switch {
	case errors.Is(err, errGrantEnded):
		m.log.InfoContext(r.Context(), "session ended: the provider refused to refresh its tokens", "event", "refresh",
			"provider", p.Name, "correlation_id", cid, "reason", describe(err))
		m.observe(r.Context(), Event{Kind: EventRefresh, Provider: p.Name, Outcome: OutcomeEnded, Code: "invalid_grant"})
		m.sessionEnded(w, r, ReasonRefreshRefused, d, m.store.Delete(w, r, d))
		return refreshResult{ended: true}
	case err != nil:
		p.pauseRefresh(now)
		return fail("token", err)
	}
	m.cfg.Lifetime.Stamp(nd, now)
	// Remembered before the lock is released, so that the next holder
	// finds it.
	m.remember(ctx, spentKey(d), nd, now)
	if err := m.store.Save(w, r, nd); err != nil {
		m.log.WarnContext(r.Context(), "refreshed session not saved", "event", "refresh", "provider", p.Name,
			"correlation_id", cid, "reason", describe(err))
		return refreshResult{data: nd}
	}
	m.log.DebugContext(r.Context(), "tokens refreshed", "event", "refresh", "provider", p.Name, "correlation_id", cid)
	m.observe(r.Context(), Event{Kind: EventRefresh, Provider: p.Name, Outcome: OutcomeOK})
	return refreshResult{data: nd, saved: true}
}

// takeRefreshed goes on with nd, the session a recent refresh made from
// the request's: it is saved for this response, so that the browser gets
// the new cookie.
func (m *Middleware) takeRefreshed(w http.ResponseWriter, r *http.Request, p *provider, nd *session.Data) refreshResult {
	cp := *nd
	if err := m.store.Save(w, r, &cp); err != nil {
		m.log.WarnContext(r.Context(), "refreshed session not saved", "event", "refresh", "provider", p.Name,
			"correlation_id", correlationID(r), "reason", describe(err))
		return refreshResult{data: &cp}
	}
	m.log.DebugContext(r.Context(), "session from before a refresh given the refreshed one", "event", "refresh", "provider", p.Name,
		"correlation_id", correlationID(r))
	return refreshResult{data: &cp, saved: true}
}

// refreshLockKey names a session's refresh lock without spreading its
// identifier, which a server-side store may use as its key.
func refreshLockKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "endsession:refresh:" + hex.EncodeToString(sum[:16])
}

// pauseRefresh stops refreshes at p for a moment after a failure, so that
// a provider that is down is not called on every request.
func (p *provider) pauseRefresh(now time.Time) {
	p.refreshPausedUntil.Store(now.Add(retryAfter).UnixNano())
}

// redeem exchanges d's refresh token at the token endpoint and returns a
// copy of d with the new tokens: the access token and its expiry, the
// refresh token when the provider rotated it, and the new ID token and its
// claims when one came back, verified and about the same subject. An
// error wrapping errGrantEnded means the session must end.
func (m *Middleware) redeem(ctx context.Context, p *provider, resolved *providers.Resolved, d *session.Data) (*session.Data, error) {
	ctx = oidc.ClientContext(m.providerCall(ctx, p.Name, "token"), m.tokenClient(p, resolved))
	now := m.cfg.Now()
	tok, err := resolved.OAuth2.TokenSource(ctx, &oauth2.Token{RefreshToken: d.RefreshToken}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, fmt.Errorf("%w: %w", errGrantEnded, err)
		}
		return nil, err
	}
	nd := *d
	nd.AccessToken, nd.TokenType = tok.AccessToken, tok.TokenType
	nd.Expiry, nd.TokenIssued = tokenExpiry(tok, now), now
	if tok.RefreshToken != "" {
		nd.RefreshToken = tok.RefreshToken
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return &nd, nil
	}
	// The refreshed ID token passes every check of the login, and those
	// of OpenID Connect Core §12.2. The refresh token is already spent:
	// a token that fails them ends the session.
	idt, err := resolved.Verifier.Verify(ctx, raw)
	if err != nil {
		if keysUnreachable(ctx, err) {
			// The new tokens came from the token endpoint itself; only
			// the ID token cannot be checked now: it is not kept.
			m.log.WarnContext(ctx, "refreshed ID token not checked: the provider's keys are unreachable; the session keeps its ID token",
				"event", "refresh", "provider", p.Name, "reason", describe(err))
			return &nd, nil
		}
		return nil, fmt.Errorf("%w: refreshed ID token: %w", errGrantEnded, err)
	}
	c, err := checkIDToken(p.ClientID, idt, now)
	if err == nil {
		err = checkTenant(p.MultiTenant, p.Issuer, idt)
	}
	if err == nil {
		err = checkRefreshedIDToken(d.IDToken, d.Subject, idt, c)
	}
	if err == nil && idt.AccessTokenHash != "" {
		err = idt.VerifyAccessToken(tok.AccessToken)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: refreshed ID token: %w", errGrantEnded, err)
	}
	nd.IDToken, nd.IDTokenExpiry = raw, idt.Expiry
	if c.SID != "" {
		nd.SID = c.SID
	}
	if c.Email != "" {
		nd.Email = c.Email
	}
	if c.Name != "" {
		nd.Name = c.Name
	}
	return &nd, nil
}

// flightGroup runs one call at a time per key: callers that come while a
// call is running wait for it and share its result.
type flightGroup[T any] struct {
	mu    sync.Mutex
	calls map[string]*flightCall[T]
}

type flightCall[T any] struct {
	done chan struct{}
	val  T
}

// do runs fn, or waits for the call of the same key already running, and
// returns its result and whether this caller ran it. A waiter whose ctx
// ends first gets the zero T.
func (g *flightGroup[T]) do(ctx context.Context, key string, fn func() T) (T, bool) {
	g.mu.Lock()
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.val, false
		case <-ctx.Done():
			var zero T
			return zero, false
		}
	}
	if g.calls == nil {
		g.calls = make(map[string]*flightCall[T])
	}
	c := &flightCall[T]{done: make(chan struct{})}
	g.calls[key] = c
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(c.done)
	}()
	c.val = fn()
	return c.val, true
}
