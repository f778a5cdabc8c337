package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/endsession/endsession/session"
)

// LogoutReason says why a session ended.
type LogoutReason string

// The reasons a session ends, as [LogoutEvent.Reason] and
// [LogoutReport.Reason] give them.
const (
	// ReasonUser: the user signed out (the logout route).
	ReasonUser LogoutReason = "user"
	// ReasonBackchannel: the provider ended the session with a signed
	// logout token (back-channel logout).
	ReasonBackchannel LogoutReason = "backchannel"
	// ReasonFrontchannel: the provider's logout page loaded the
	// front-channel logout route.
	ReasonFrontchannel LogoutReason = "frontchannel"
	// ReasonRefreshRefused: the provider refused to refresh the session's
	// tokens for good (invalid_grant, or the answer named another user).
	ReasonRefreshRefused LogoutReason = "refresh_refused"
	// ReasonExpired: the application ended the session itself with
	// [Middleware.Expire], or its access token expired without a refresh
	// token and [Config.ExpiredTokenEndsSession] is set.
	ReasonExpired LogoutReason = "expired"
	// ReasonReplaced: a new login in the same browser (another user, a
	// step-up, [Middleware.StartSession]) replaced the session.
	ReasonReplaced LogoutReason = "replaced"
)

// A LogoutEvent tells the application's [Config.OnLogout] hook that a
// session ended, why, and whose it was, so that the application erases
// its own copies of the user's data.
//
// What is known depends on who ended the session. Session is the ended
// session's data when the middleware had it: always for [ReasonUser],
// [ReasonRefreshRefused], [ReasonExpired] and [ReasonReplaced]; for [ReasonBackchannel]
// and [ReasonFrontchannel] only when the store keeps sessions on the
// server (a [session.MatchTaker] such as [session.ServerStore], one
// event per session ended) or, for a front-channel logout, when the
// request carried the session's own cookie. Otherwise Session is nil, and
// the event says what the provider said: Provider, Issuer, and the SID
// or Subject (or both) of its logout, one event per logout.
type LogoutEvent struct {
	// Reason is why the session ended.
	Reason LogoutReason
	// Session is the ended session, or nil; see above. It is a copy.
	Session *session.Data
	// Provider is the configured provider's name.
	Provider string
	// Issuer is the provider's issuer.
	Issuer string
	// Subject is the user's identifier at the provider: the session's, or
	// the one the provider's logout named (may be empty).
	Subject string
	// SID is the provider's session id: the session's, or the one the
	// provider's logout named (may be empty).
	SID string

	// Request and Response, when the session ends in answer to the
	// user's own browser (the user's sign-out, [Middleware.Expire], a
	// refused refresh, a new sign-in replacing the session), are that
	// request and its response, so that the application expires its own
	// cookies in the answer that ends the session:
	//
	//	if e.Response != nil {
	//		http.SetCookie(e.Response, &http.Cookie{Name: "cart", Path: "/", MaxAge: -1})
	//	}
	//
	// Set headers only: the middleware writes the status and the body.
	// Both are nil for a provider's back-channel or front-channel logout,
	// whose answer no page of the user's reads, and for a refresh that a
	// [Middleware.TokenSource] made, which answers no request.
	Request *http.Request
	// Response is the response to Request, or nil; see Request. Set
	// headers only.
	Response http.ResponseWriter
}

// eventFor is the event of the end of d.
func eventFor(reason LogoutReason, d *session.Data) LogoutEvent {
	cp := *d
	return LogoutEvent{Reason: reason, Session: &cp, Provider: d.Provider, Issuer: d.Issuer, Subject: d.Subject, SID: d.SID}
}

// erase forgets the refresh results of e's session, runs OnLogout for e
// and adds its step to rep.
func (m *Middleware) erase(ctx context.Context, e LogoutEvent, rep *LogoutReport) {
	if e.Session != nil {
		m.forgetRefreshes(ctx, e.Session.ID, rep)
	}
	if m.cfg.OnLogout == nil {
		return
	}
	detail := "OnLogout erased the application's copies"
	err := m.callOnLogout(ctx, e)
	if err != nil {
		detail = "OnLogout failed:"
	}
	rep.add("app.erase", err, detail)
}

func (m *Middleware) callOnLogout(ctx context.Context, e LogoutEvent) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errors.New("OnLogout panicked")
		}
	}()
	return m.cfg.OnLogout(ctx, e)
}

// endMatching ends the sessions the provider's logout match selects, for
// reason, then runs OnLogout and emits one audit record. With a store
// that returns what it ended, OnLogout gets each session; otherwise one
// event with what the provider said. own, when not nil, is the request's
// own session, which the match selects.
func (m *Middleware) endMatching(ctx context.Context, cid string, reason LogoutReason, p *provider, match session.Match, own *session.Data) error {
	rep := LogoutReport{CorrelationID: cid, Reason: reason, Provider: p.Name}
	defer m.reportLogout(ctx, &rep)
	var ended []*session.Data
	var err error
	if t, ok := m.store.(session.MatchTaker); ok {
		ended, err = t.TakeMatching(ctx, match)
	} else {
		err = m.store.EndMatching(ctx, match)
	}
	if err != nil {
		rep.add("session.end", err, "the store could not end the sessions:")
		return err
	}
	if _, ok := m.store.(session.MatchTaker); ok {
		rep.add("session.end", nil, fmt.Sprintf("the store ended %d sessions", len(ended)))
	} else {
		rep.add("session.end", nil, "recorded in the store's revocation list")
		if own != nil {
			ended = []*session.Data{own}
		}
	}
	rep.HadSession = len(ended) > 0
	if len(ended) == 0 {
		if _, ok := m.store.(session.MatchTaker); !ok {
			m.erase(ctx, LogoutEvent{Reason: reason, Provider: p.Name, Issuer: match.Issuer, Subject: match.Subject, SID: match.SID}, &rep)
		}
		return nil
	}
	for _, d := range ended {
		m.erase(ctx, eventFor(reason, d), &rep)
	}
	return nil
}

// sessionEnded runs OnLogout and emits the audit record of a session the
// middleware ended itself, already deleted with deleteErr as the
// store's answer.
func (m *Middleware) sessionEnded(w http.ResponseWriter, r *http.Request, reason LogoutReason, d *session.Data, deleteErr error) {
	rep := LogoutReport{CorrelationID: correlationID(r), Reason: reason, Provider: d.Provider, HadSession: true}
	defer m.reportLogout(r.Context(), &rep)
	if deleteErr != nil {
		rep.add("session.delete", deleteErr, "the store failed:")
		return
	}
	rep.add("session.delete", nil, "the store deleted the session")
	e := eventFor(reason, d)
	if _, detached := w.(detachedWriter); !detached {
		// A token source's refresh answers no browser.
		e.Request, e.Response = r, w
	}
	m.erase(r.Context(), e, &rep)
}

// Expire ends the request's session at the application's request, as its
// own policy decides (for example an inactivity rule stricter than
// [Config.Lifetime]): the session is deleted, copies of its cookie
// included, [Config.OnLogout] runs with [ReasonExpired], and one audit
// record is emitted. The provider is not told; send the user to the
// logout route for that. A request without a session is not an error.
// Call it from a handler inside [Middleware.Handler], before writing the
// response.
func (m *Middleware) Expire(w http.ResponseWriter, r *http.Request) error {
	d, ok := r.Context().Value(sessionKey{}).(*session.Data)
	if !ok {
		return nil
	}
	err := m.store.Delete(w, r, d)
	m.sessionEnded(w, r, ReasonExpired, d, err)
	if rc, ok := r.Context().(*requestContext); ok && err == nil {
		rc.session.Store(nil)
	}
	if err != nil {
		return fmt.Errorf("middleware: ending the session: %w", err)
	}
	return nil
}

// readAndDelete reads the request's session and deletes it, in one step
// when the store is a [session.Taker] (one call to a server-side backend
// instead of two). The cookies are expired once the session is deleted.
// readErr wraps [session.ErrUnavailable] when nothing could be read, and
// deleteErr is the deletion's failure; in both cases the store keeps the
// cookies, so that a retry can delete the session.
func (m *Middleware) readAndDelete(w http.ResponseWriter, r *http.Request) (d *session.Data, readErr, deleteErr error) {
	if t, ok := m.store.(session.Taker); ok {
		d, err := t.Take(w, r)
		if d != nil {
			return d, nil, err
		}
		return nil, err, nil
	}
	d, err := m.store.Load(r)
	if errors.Is(err, session.ErrUnavailable) {
		return nil, err, nil
	}
	return d, err, m.store.Delete(w, r, d)
}

// reportLogout emits rep: to the log, and to OnLogoutReport.
func (m *Middleware) reportLogout(ctx context.Context, rep *LogoutReport) {
	if m.log.Enabled(ctx, slog.LevelInfo) {
		m.log.InfoContext(ctx, "logout", "event", "logout", "correlation_id", rep.CorrelationID, "report", *rep)
	}
	if m.cfg.OnLogoutReport != nil {
		m.cfg.OnLogoutReport(ctx, *rep)
	}
	if m.cfg.Observer != nil {
		outcome := OutcomeOK
		for _, s := range rep.Steps {
			if !s.OK {
				outcome = OutcomeFailed
			}
		}
		m.observe(ctx, Event{Kind: EventLogout, Provider: rep.Provider, Outcome: outcome, Reason: rep.Reason, Report: rep})
	}
}
