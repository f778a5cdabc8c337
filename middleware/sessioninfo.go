package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/endsession/endsession/session"
)

// SessionInfo configures the session-info route, PathPrefix + "/session",
// for single-page applications that ask who is signed in and until when;
// see [Middleware.SessionInfoHandler].
type SessionInfo struct {
	// Claims are the user's claims the route gives, when the ID token or
	// userinfo has them. Default [DefaultSessionInfoClaims]. The claims
	// that carry or bind tokens and the provider's session (sid, nonce,
	// at_hash, c_hash, s_hash, and any name of a token) are refused by
	// [New].
	Claims []string
	// EndingWithin is how close to its end the session is said to be
	// ending ("ending": true), so that the page can warn the user before
	// an idle or absolute timeout. Default 5 minutes.
	EndingWithin time.Duration
}

// DefaultSessionInfoClaims are the claims the session-info route gives
// by default: identifiers and profile claims a page shows.
var DefaultSessionInfoClaims = []string{"sub", "name", "email", "email_verified", "preferred_username", "picture"}

// secretClaims are never given by the session-info route.
var secretClaims = []string{"sid", "nonce", "at_hash", "c_hash", "s_hash", "access_token", "refresh_token", "id_token"}

// sessionInfoDefaults fills si's defaults and checks its claims.
func sessionInfoDefaults(si *SessionInfo) (*SessionInfo, error) {
	if si == nil {
		return nil, nil
	}
	cp := *si
	if cp.Claims == nil {
		cp.Claims = DefaultSessionInfoClaims
	}
	cp.Claims = slices.Clone(cp.Claims)
	for _, c := range cp.Claims {
		if slices.Contains(secretClaims, c) {
			return nil, fmt.Errorf("middleware: SessionInfo.Claims: %q is not given to pages", c)
		}
	}
	if cp.EndingWithin < 0 {
		return nil, errors.New("middleware: SessionInfo.EndingWithin must not be negative")
	}
	if cp.EndingWithin == 0 {
		cp.EndingWithin = 5 * time.Minute
	}
	return &cp, nil
}

// sessionInfoBody is the session-info route's answer.
type sessionInfoBody struct {
	Claims    map[string]any `json:"claims"`
	Provider  string         `json:"provider"`
	ExpiresAt time.Time      `json:"expires_at"`
	ExpiresIn int64          `json:"expires_in"`
	Ending    bool           `json:"ending"`
}

// SessionInfoHandler returns the session-info route, PathPrefix +
// "/session", which [Middleware.Handler] serves when [Config.SessionInfo]
// is set. Nothing is registered at the provider for it.
//
// A GET answers JSON, with Cache-Control: no-store:
//
//	{"claims": {"sub": "alice", "name": "Alice Liddell", "email": "alice@example.com"},
//	 "provider": "dev", "expires_at": "2026-12-01T23:00:00Z", "expires_in": 86399, "ending": false}
//
// claims holds the user's claims of [SessionInfo.Claims] the session has;
// expires_at (RFC 3339) and expires_in (seconds, for a page whose clock is
// off) are when the session ends unless used again (its idle timeout) or,
// when earlier, its absolute end; ending is true within
// [SessionInfo.EndingWithin] of it. No token and no provider session id
// are ever given. Asking does not extend the session, nor refresh its
// tokens: a page that polls it does not keep an idle session alive.
//
// Signed out (no session, or one that expired or ended) it answers 401
// with a JSON body, as [Middleware.Require] does for API calls; a store
// that cannot answer 503; another method than GET 405.
func (m *Middleware) SessionInfoHandler() http.Handler { return http.HandlerFunc(m.sessionInfo) }

func (m *Middleware) sessionInfo(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", "application/json")
	if r.Method != http.MethodGet {
		h.Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
		w.Write([]byte(`{"error":"method_not_allowed","error_description":"Use GET."}` + "\n"))
		return
	}
	d, err := m.store.Load(r)
	switch {
	case errors.Is(err, session.ErrUnavailable):
		m.log.WarnContext(r.Context(), "session info unavailable", "event", "session", "code", "store_unavailable",
			"correlation_id", correlationID(r), "reason", describe(err))
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"Sessions are unavailable for a moment."}` + "\n"))
		return
	case err != nil || d == nil:
		h.Set("WWW-Authenticate", `Bearer realm="endsession"`)
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"unauthenticated","error_description":"Sign in first."}` + "\n"))
		return
	}
	now := m.cfg.Now()
	body := sessionInfoBody{
		Claims:    m.infoClaims(d),
		Provider:  d.Provider,
		ExpiresAt: d.Expires.UTC(),
		ExpiresIn: max(int64(d.Expires.Sub(now)/time.Second), 0),
		Ending:    !now.Add(m.cfg.SessionInfo.EndingWithin).Before(d.Expires),
	}
	json.NewEncoder(w).Encode(body)
}

// infoClaims are d's claims of the allow-list.
func (m *Middleware) infoClaims(d *session.Data) map[string]any {
	var all map[string]any
	if err := d.Claims(&all); err != nil {
		all = nil
	}
	out := make(map[string]any, len(m.cfg.SessionInfo.Claims))
	for _, c := range m.cfg.SessionInfo.Claims {
		if v, ok := all[c]; ok {
			out[c] = v
		}
	}
	if _, ok := out["sub"]; !ok && slices.Contains(m.cfg.SessionInfo.Claims, "sub") {
		out["sub"] = d.Subject
	}
	return out
}
