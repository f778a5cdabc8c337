package middleware

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/endsession/endsession/session"
)

// Require lets requests with a session through to next. A browser's
// navigation without a session is sent to sign in and comes back
// afterwards; an API call (see [Config.IsAPIRequest]), or any request
// other than GET and HEAD, gets 401 with a JSON body. Use it inside
// [Middleware.Handler]: without it no session is ever found, so Require
// answers 500 and logs, once, that Handler is not mounted.
func (m *Middleware) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(sessionKey{}).(*session.Data); ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Context().Value(mountedKey{}) == nil {
			m.notMounted(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || m.cfg.IsAPIRequest(r) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer realm="endsession"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unauthenticated","error_description":"Sign in first."}` + "\n"))
			return
		}
		target := m.cfg.PathPrefix + "/login?return_to=" + url.QueryEscape(r.URL.RequestURI())
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// notMounted answers a request that reached Require without going through
// Handler: sending it to sign in would loop, since no session can ever be
// found.
func (m *Middleware) notMounted(w http.ResponseWriter, r *http.Request) {
	e := newError(http.StatusInternalServerError, "not_mounted",
		"Sign-in is not set up on this site: the authentication middleware is not mounted.", nil)
	e.CorrelationID = correlationID(r)
	e.API = m.cfg.IsAPIRequest(r)
	if m.unmounted.CompareAndSwap(false, true) {
		m.log.ErrorContext(r.Context(), "Require is used without Handler: wrap the application (or the router) in Middleware.Handler",
			"event", "config", "code", e.Code, "path", r.URL.Path, "correlation_id", e.CorrelationID)
	}
	authHeaders(w)
	m.cfg.ErrorHandler(w, r, e)
}

// DefaultIsAPIRequest is the default [Config.IsAPIRequest]. A request is
// a browser's navigation, to be sent to sign in, when its Fetch Metadata
// says so (Sec-Fetch-Mode: navigate) or, from a browser that sends none,
// when it accepts text/html or names no type at all. Everything else is
// an API call: fetch() and XMLHttpRequest (Sec-Fetch-Mode cors,
// same-origin or no-cors; X-Requested-With: XMLHttpRequest), images and
// scripts, and clients that accept JSON or only */*.
func DefaultIsAPIRequest(r *http.Request) bool {
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode != "navigate"
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return true
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false
	}
	return !strings.Contains(accept, "text/html")
}
