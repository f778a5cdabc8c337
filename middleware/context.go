package middleware

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/endsession/endsession/session"
)

// requestContext is the context Handler gives a request: one value that
// holds the request's session and its correlation id. The id is drawn only
// when something asks for it, to log or to show an error: most
// authenticated requests log nothing, and should not pay for a random id
// nor for a context per value.
type requestContext struct {
	context.Context
	session atomic.Pointer[session.Data]
	header  http.Header // the request's, for its X-Request-Id or traceparent, checked when used
	now     func() time.Time

	once sync.Once
	cid  string
}

// clockKey finds the middleware's clock in a request's context, for
// TokenFromContext.
type clockKey struct{}

// withRequestContext gives r a requestContext with the middleware's clock.
func withRequestContext(r *http.Request, now func() time.Time) *http.Request {
	return r.WithContext(&requestContext{Context: r.Context(), header: r.Header, now: now})
}

// withSession puts d in r's context: in its requestContext when Handler
// gave it one, without a new request and context.
func withSession(r *http.Request, d *session.Data) *http.Request {
	if rc, ok := r.Context().(*requestContext); ok {
		rc.session.Store(d)
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, d))
}

func (c *requestContext) Value(key any) any {
	switch key.(type) {
	case sessionKey:
		if d := c.session.Load(); d != nil {
			return d
		}
	case mountedKey:
		return true
	case correlationKey:
		c.once.Do(c.drawID)
		return c.cid
	case clockKey:
		return c.now
	}
	return c.Context.Value(key)
}

// mountedKey's value is true in the context of a request that went through
// Handler.
type mountedKey struct{}

func (c *requestContext) drawID() { c.cid = newCorrelationID(c.header) }
