package middleware

import (
	"net/http"
	"strings"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// FrontchannelLogoutHandler returns the front-channel logout route, for
// applications that mount the routes on their own router: it must be
// mounted at PathPrefix + "/frontchannel-logout", the
// frontchannel_logout_uri registered at the provider. See
// [Middleware.Handler].
//
// The provider loads it in an iframe of its logout page with the iss and
// sid parameters (OpenID Connect Front-Channel Logout 1.0); both are
// required, iss must be a configured provider's issuer and sid at most
// [session.MaxMatchLen] bytes. The one exception is a provider that sends
// sid alone, as Microsoft Entra ID does: when exactly one configured
// provider says so ([providers.Provider.FrontchannelSIDOnly]), a request
// without iss is that provider's. Every session with that sid at that
// provider ends, through [session.Store.EndMatching], and when the
// request carries the session cookie of that very session, the cookies
// are expired in the response. [Config.OnLogout] runs with
// [ReasonFrontchannel] and one audit record is emitted.
//
// Anyone may call the route with made-up sids, so what it keeps is
// bounded: a server-side store only deletes the sessions it has; the
// cookie store records the sid in its revocation list, whose provider
// logouts have a budget of their own ([session.RevocationLimits]) that
// a flood can fill, dropping the provider logouts that lapse soonest,
// but never the users' own logouts.
// The answer is a small page that only the provider's origin may frame
// (Content-Security-Policy frame-ancestors), never cached.
//
// Front-channel logout depends on the browser. The iframe is a third-party
// context: the session cookie (SameSite=Lax) is not sent with it, and
// browsers that block third-party cookies would not send it anyway. So the
// middleware ends the session on the server side, by sid, and the cookie
// is refused at the browser's next request. With the default cookie store
// that refusal rests on the store's revocation list, which covers one
// process unless a shared one is configured. A browser that closes the
// provider's page before the iframe loads never calls this route at all:
// prefer back-channel logout ([Middleware.BackchannelLogoutHandler]) where
// the provider offers it. Anyone who knows a session's sid can end it
// through this route, as the specification implies; sids are the
// provider's secret-ish identifiers and are never shown by the middleware.
func (m *Middleware) FrontchannelLogoutHandler() http.Handler {
	return http.HandlerFunc(m.frontchannelLogout)
}

func (m *Middleware) frontchannelLogout(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	r, cid := withCorrelation(r)
	q := r.URL.Query()
	iss, sid := q.Get("iss"), q.Get("sid")
	p := m.providerByIssuer(iss)
	if _, sent := q["iss"]; !sent {
		// A provider that sends sid alone (Provider.FrontchannelSIDOnly)
		// names itself by being the only one that does.
		if p = m.sidOnlyProvider(); p != nil {
			iss = p.Issuer
		}
	}
	ancestors := "'none'"
	if p != nil {
		ancestors = m.frameAncestors(p)
	}
	page := func(status int, message string) {
		render(w, status, m.page(pageFrontchannel), map[string]any{
			"Title": "Signed out", "Message": message, "FrameAncestors": ancestors, "CorrelationID": cid,
		})
	}
	reject := func(status int, code, message, reason string) {
		m.log.WarnContext(r.Context(), "front-channel logout rejected", "event", "frontchannel_logout", "code", code,
			"status", status, "correlation_id", cid, "reason", reason)
		if m.cfg.Observer != nil {
			m.observe(r.Context(), Event{Kind: EventFrontchannelLogout, Outcome: OutcomeRejected, Code: code})
			m.observe(r.Context(), Event{Kind: EventRejected, Route: "frontchannel_logout", Code: code, Status: status})
		}
		page(status, message)
	}
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		reject(http.StatusMethodNotAllowed, "method_not_allowed", "This address only takes the provider's logout frame.", "method "+r.Method)
		return
	case len(q["iss"]) > 1 || len(q["sid"]) != 1 || iss == "" || sid == "":
		reject(http.StatusBadRequest, "invalid_request", "This sign-out request is incomplete.", "iss and sid must both be given once")
		return
	case len(sid) > session.MaxMatchLen:
		reject(http.StatusBadRequest, "invalid_request", "This sign-out request is invalid.", "sid longer than 255 bytes")
		return
	case p == nil:
		reject(http.StatusBadRequest, "unknown_issuer", "This sign-out request does not come from a known provider.", "iss is no configured provider's issuer")
		return
	}
	// The browser's own session is read before it ends, to expire its
	// cookies in this response if it is the one named.
	own, _ := m.store.Load(r)
	now := m.cfg.Now()
	ownMatched := own != nil && own.Issuer == p.Issuer && own.SID == sid
	if !ownMatched {
		own = nil
	}
	err := m.endMatching(r.Context(), cid, ReasonFrontchannel, p,
		session.Match{Issuer: p.Issuer, SID: sid, At: now, Until: now.Add(m.cfg.Lifetime.Absolute), Unverified: true}, own)
	if ownMatched {
		m.store.Delete(w, r, own)
	}
	if err != nil {
		m.log.ErrorContext(r.Context(), "front-channel logout failed", "event", "frontchannel_logout", "code", "store_unavailable",
			"provider", p.Name, "correlation_id", cid, "reason", describe(err))
		m.observe(r.Context(), Event{Kind: EventFrontchannelLogout, Provider: p.Name, Outcome: OutcomeFailed, Code: "store_unavailable"})
		page(http.StatusServiceUnavailable, "Sign-out could not reach the session store.")
		return
	}
	m.log.InfoContext(r.Context(), "front-channel logout", "event", "frontchannel_logout", "provider", p.Name,
		"own_session", ownMatched, "correlation_id", cid)
	m.observe(r.Context(), Event{Kind: EventFrontchannelLogout, Provider: p.Name, Outcome: OutcomeOK})
	page(http.StatusOK, "You are signed out of this site.")
}

// sidOnlyProvider returns the one configured provider whose front-channel
// logout sends sid without iss; nil when none does or several do.
func (m *Middleware) sidOnlyProvider() *provider {
	var found *provider
	for _, p := range m.order {
		if p.HasLogin() && p.FrontchannelSIDOnly {
			if found != nil {
				return nil
			}
			found = p
		}
	}
	return found
}

// providerByIssuer returns the first configured provider with issuer iss.
func (m *Middleware) providerByIssuer(iss string) *provider {
	for _, p := range m.order {
		if p.HasLogin() && p.Issuer == iss {
			return p
		}
	}
	return nil
}

// frameAncestors lists the origins that may frame the front-channel page:
// the issuer's, and the end-session endpoint's when discovery already
// found it on another origin.
func (m *Middleware) frameAncestors(p *provider) string {
	origins := []string{originOf(p.Issuer)}
	var resolved *providers.Resolved
	// Discovery in progress holds the lock: go without what it finds.
	if p.mu.TryLock() {
		resolved = p.resolved
		p.mu.Unlock()
	}
	if resolved != nil && resolved.Endpoints.EndSessionURL != "" {
		if o := originOf(resolved.Endpoints.EndSessionURL); o != origins[0] && o != "'none'" {
			origins = append(origins, o)
		}
	}
	return strings.Join(origins, " ")
}
