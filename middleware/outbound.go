package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/session"
)

// The errors of a [Middleware.TokenSource], wrapped in those of the
// requests of a [Middleware.Client].
var (
	// ErrNoSession: the request the source was made for carried no
	// session.
	ErrNoSession = errors.New("middleware: the request has no session")
	// ErrSessionEnded: the session ended since the source was made (the
	// user signed out, the provider ended it, a refresh was refused, it
	// expired or a new sign-in replaced it). The source fails from then
	// on.
	ErrSessionEnded = errors.New("middleware: the session ended")
	// ErrTokenExpired: the access token expired and could not be
	// refreshed (no refresh token, or the provider did not answer).
	ErrTokenExpired = errors.New("middleware: the access token expired and could not be refreshed")
)

// TokenSource returns the access token of r's session for calls to APIs on
// the user's behalf made after the handler started: a handler that runs
// longer than its token, or a goroutine that outlives the handler. r must
// have gone through [Middleware.Handler]; the source may be used from any
// goroutine, during and after the handler.
//
// Each Token reads the session from the store (one read, as for a request)
// and fails with [ErrSessionEnded] once it is gone: it never hands out the
// token of a session that ended. A token about to expire is refreshed as a
// request's is, sharing the one refresh of every request and source of the
// session (concurrent callers wait for it), and the refreshed session is
// written to the store. A token that expired and cannot be refreshed fails
// with [ErrTokenExpired]. The token carries no refresh token: refreshing is
// the middleware's, so that one refresh token is never spent twice.
//
// Where the refreshed session goes: a server-side store (such as
// [session.ServerStore]) keeps it, and every later request finds it. The
// cookie store keeps sessions in the browser, and the response's headers
// may be gone already: the browser keeps the cookie from before the
// refresh. Its next request within [RefreshGrace] gets the refreshed
// session and the new cookie (with several replicas, through a Locker
// that shares [RefreshResults]). Later than that, it sends the spent
// refresh token, which a provider that rotates refresh tokens refuses, and
// the session ends. For background work that outlasts a user's requests,
// use a server-side store. The request's own context (see
// [SessionFromContext]) gets the refreshed session at once.
func (m *Middleware) TokenSource(r *http.Request) oauth2.TokenSource {
	s := &sessionTokenSource{m: m}
	// The source outlives the handler: a copy of the request that is
	// never canceled, and the request's context for its session.
	s.r = r.Clone(context.WithoutCancel(r.Context()))
	s.r.Body = http.NoBody
	s.rc, _ = r.Context().(*requestContext)
	if d, ok := r.Context().Value(sessionKey{}).(*session.Data); ok {
		cp := *d
		s.d = &cp
	}
	return s
}

// Client returns an HTTP client that sends r's access token, from
// [Middleware.TokenSource], as a Bearer token on each request, over
// [net/http.DefaultTransport]. A request fails with an error wrapping the
// source's ([ErrSessionEnded], [ErrTokenExpired], ...) rather than go out
// without a token. For another transport, build the client from the
// source:
//
//	client := &http.Client{Transport: &oauth2.Transport{Source: mw.TokenSource(r), Base: transport}}
func (m *Middleware) Client(r *http.Request) *http.Client {
	return &http.Client{Transport: &oauth2.Transport{Source: m.TokenSource(r)}}
}

// sessionTokenSource is the source of TokenSource. It keeps the newest
// session it knows, which a cookie store's request may not carry.
type sessionTokenSource struct {
	m  *Middleware
	r  *http.Request
	rc *requestContext

	mu sync.Mutex
	// d is the session; nil once it ended or when there was none.
	d   *session.Data
	err error
}

// Token implements [oauth2.TokenSource].
func (s *sessionTokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.d == nil {
		if s.err != nil {
			return nil, s.err
		}
		return nil, ErrNoSession
	}
	cur, err := s.m.store.Load(s.r)
	switch {
	case errors.Is(err, session.ErrUnavailable):
		return nil, fmt.Errorf("middleware: reading the session: %w", err)
	case err != nil || cur == nil || cur.ID != s.d.ID:
		return nil, s.ended()
	case cur.Expiry.After(s.d.Expiry):
		// A server-side store holds what a request refreshed meanwhile.
		s.d = cur
	}
	now := s.m.cfg.Now()
	if refreshDue(s.d, now, s.m.cfg.RefreshMargin) {
		nd := s.m.refreshSession(detachedWriter{header: http.Header{}}, s.r, s.d, now)
		if nd == nil {
			return nil, s.ended()
		}
		if nd != s.d {
			s.d = nd
			if s.rc != nil {
				if old := s.rc.session.Load(); old != nil && old.ID == nd.ID && nd.Expiry.After(old.Expiry) {
					cp := *nd
					s.rc.session.CompareAndSwap(old, &cp)
				}
			}
		}
	}
	switch {
	case s.d.AccessToken == "":
		return nil, errors.New("middleware: the session has no access token")
	case tokenExpired(s.d, now):
		return nil, ErrTokenExpired
	}
	return &oauth2.Token{AccessToken: s.d.AccessToken, TokenType: s.d.TokenType, Expiry: s.d.Expiry}, nil
}

// ended forgets the session: the source fails from now on.
func (s *sessionTokenSource) ended() error {
	s.d, s.err = nil, ErrSessionEnded
	return ErrSessionEnded
}

// detachedWriter is the response of a token source's refresh, made when
// the request's own response may be written already: headers set on it
// (the cookie store's new cookie) go nowhere.
type detachedWriter struct{ header http.Header }

func (w detachedWriter) Header() http.Header         { return w.header }
func (w detachedWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w detachedWriter) WriteHeader(int)             {}
