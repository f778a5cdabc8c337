package middleware

import (
	"context"
	"net/http"
	"net/url"
)

// Observer is told what the middleware does, for metrics and traces:
// every login, logout, refresh, back-channel and front-channel logout and
// rejected request as an [Event], and every HTTP call to a provider as it
// starts and ends. Set it in [Config.Observer]; nil, the default, costs
// nothing. The nested module github.com/endsession/endsession/otelendsession
// implements it with OpenTelemetry.
//
// Its methods are called on the request's goroutine, with the request's
// context (or the provider call's), and must return quickly. They get no
// token, code, cookie, URL query or personal claim.
type Observer interface {
	// Observe is called once for each event.
	Observe(ctx context.Context, e Event)
	// ProviderCall is called as an HTTP request to a provider starts. The
	// context it returns is the call's (with a span, for instance) and
	// the request is sent with it; c.Header is that request's header, to
	// which propagation headers (traceparent) may be added. end is
	// called once the answer's status and header have come (or the call
	// failed), with the status code (0 when none came) and the round
	// trip's error.
	ProviderCall(ctx context.Context, c ProviderCall) (_ context.Context, end func(status int, err error))
}

// EventKind is what an [Event] reports.
type EventKind string

// The kinds of [Event].
const (
	// EventLogin is the end of a login at the callback: Outcome "ok",
	// "failed" (Code says why; Provider is empty when the flow was not
	// found) or "anonymous" (a silent login the provider could not
	// complete without the user, Code its error).
	EventLogin EventKind = "login"
	// EventLogout is the end of a session, whoever ended it: Reason says
	// why, Report holds each step; Outcome "ok", or "failed" when a step
	// failed.
	EventLogout EventKind = "logout"
	// EventRefresh is one refresh of a session's tokens at the provider:
	// Outcome "ok", "failed" (the provider or the Locker is down; the
	// session goes on; Code names the step: "lock", "reread",
	// "discovery", "token") or "ended" (the provider refused, Code
	// "invalid_grant": the session ended).
	EventRefresh EventKind = "refresh"
	// EventBackchannelLogout is a logout token received: Outcome "ok",
	// "rejected" (a bad token, Code why) or "failed" (the store, the
	// replay cache or the keys unreachable).
	EventBackchannelLogout EventKind = "backchannel_logout"
	// EventFrontchannelLogout is a front-channel logout request: Outcome
	// "ok", "rejected" (Code why) or "failed" (the store unreachable).
	EventFrontchannelLogout EventKind = "frontchannel_logout"
	// EventRejected is a request the middleware answered with an error
	// (Status) or refused: Route names where ("login", "callback",
	// "logout", "logged_out", "session", "backchannel_logout",
	// "frontchannel_logout", "authorization"), Code why.
	EventRejected EventKind = "rejected"
)

// The outcomes of an [Event].
const (
	OutcomeOK        = "ok"
	OutcomeFailed    = "failed"
	OutcomeRejected  = "rejected"
	OutcomeEnded     = "ended"
	OutcomeAnonymous = "anonymous"
)

// Event is one thing the middleware did, for an [Observer]. Every field
// is a bounded value (a name, a code of the middleware's or an OAuth error
// code), fit for a metric's attributes.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Provider is the provider's Name, when known.
	Provider string
	// Outcome is one of the Outcome constants; see each EventKind. Empty
	// for EventRejected.
	Outcome string
	// Code is the error code of a failure or a rejection, such as
	// "invalid_state" (the Code of an [Error]).
	Code string
	// Route is where a rejected request came (EventRejected).
	Route string
	// Status is the HTTP status a rejected request was answered with.
	Status int
	// Reason is why a session ended (EventLogout).
	Reason LogoutReason
	// Report is the logout's audit record (EventLogout); not to be kept
	// nor changed.
	Report *LogoutReport
}

// ProviderCall is an HTTP call to a provider, for [Observer.ProviderCall].
type ProviderCall struct {
	// Provider is the provider's Name.
	Provider string
	// Endpoint is what is called: "discovery", "keys",
	// "pushed_authorization" (RFC 9126), "token", "userinfo",
	// "revocation", "end_session" (the server-to-server calls of a logout
	// strategy), or "other".
	Endpoint string
	// Method is the request's method.
	Method string
	// URL is the request's URL without its query, fragment or user
	// information.
	URL *url.URL
	// Header is the request's header (a copy of the caller's), to which
	// propagation headers may be added.
	Header http.Header
}

// observe tells the Observer of e, if there is one.
func (m *Middleware) observe(ctx context.Context, e Event) {
	if m.cfg.Observer != nil {
		m.cfg.Observer.Observe(ctx, e)
	}
}

// callKey finds in a context the provider call it is made for.
type callKey struct{}

type callLabel struct{ provider, endpoint string }

// providerCall labels ctx for the provider calls made with it, when an
// Observer is set: ctx unchanged otherwise.
func (m *Middleware) providerCall(ctx context.Context, provider, endpoint string) context.Context {
	if m.cfg.Observer == nil {
		return ctx
	}
	return context.WithValue(ctx, callKey{}, callLabel{provider, endpoint})
}

// observedClient returns a copy of c whose calls are told to o.
func observedClient(c *http.Client, o Observer) *http.Client {
	cp := *c
	next := cp.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp.Transport = &observedTransport{next: next, obs: o}
	return &cp
}

// observedTransport tells an Observer of each call to a provider.
type observedTransport struct {
	next http.RoundTripper
	obs  Observer
}

func (t *observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	label, _ := req.Context().Value(callKey{}).(callLabel)
	if label.endpoint == "" {
		label.endpoint = "other"
	}
	u := &url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path, RawPath: req.URL.RawPath}
	out := req.Clone(req.Context())
	ctx, end := t.obs.ProviderCall(req.Context(), ProviderCall{
		Provider: label.provider, Endpoint: label.endpoint, Method: req.Method, URL: u, Header: out.Header,
	})
	out = out.WithContext(ctx)
	resp, err := t.next.RoundTrip(out)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if end != nil {
		end(status, err)
	}
	return resp, err
}
