package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/endsession/endsession/session"
)

// Authentication is what a route demands of the way the user signed in
// (OpenID Connect Core 3.1.2.1): see [Middleware.RequireAuthentication].
type Authentication struct {
	// ACR, when set, lists the authentication context class references
	// (the ID token's acr claim) the route accepts, such as a provider's
	// name for multi-factor authentication. They are asked for, in
	// order of preference, as acr_values.
	ACR []string
	// MaxAge, when set, is how long ago the user may have authenticated
	// (the ID token's auth_time), asked for as max_age, in seconds.
	MaxAge time.Duration
}

// RequireAuthentication returns a middleware that requires a session
// whose sign-in satisfies a: otherwise a browser's navigation is sent to
// sign in again, with acr_values and max_age asking the provider for what
// is missing (step-up), and comes back; an API call gets 401 with
// WWW-Authenticate error="insufficient_user_authentication" and the same
// acr_values and max_age (RFC 9470). The callback of such a login checks
// the returned acr and auth_time, so a provider that does not grant them
// ends on an error page, never in a loop. A request without a session is
// answered as [Middleware.Require] answers it.
func (m *Middleware) RequireAuthentication(a Authentication) func(http.Handler) http.Handler {
	params := url.Values{}
	if len(a.ACR) > 0 {
		params.Set("acr_values", strings.Join(a.ACR, " "))
	}
	if a.MaxAge > 0 {
		params.Set("max_age", strconv.FormatInt(int64(a.MaxAge/time.Second), 10))
	}
	return func(next http.Handler) http.Handler {
		return m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ := r.Context().Value(sessionKey{}).(*session.Data)
			err := a.satisfiedBy(d, m.cfg.Now())
			if err == nil {
				next.ServeHTTP(w, r)
				return
			}
			m.log.InfoContext(r.Context(), "step-up: the route needs a stronger or more recent sign-in", "event", "login",
				"code", "insufficient_user_authentication", "path", oneLine(r.URL.Path), "reason", describe(err),
				"correlation_id", correlationID(r))
			w.Header().Set("Cache-Control", "no-store")
			if r.Method != http.MethodGet || m.cfg.IsAPIRequest(r) {
				challenge := `Bearer realm="endsession", error="insufficient_user_authentication"`
				if v := params.Get("acr_values"); v != "" {
					challenge += `, acr_values="` + v + `"`
				}
				if v := params.Get("max_age"); v != "" {
					challenge += `, max_age=` + v
				}
				w.Header().Set("WWW-Authenticate", challenge)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":"insufficient_user_authentication","error_description":"Sign in again, more strongly or more recently."}` + "\n"))
				return
			}
			q := url.Values{"provider": {d.Provider}}
			for k, vs := range params {
				q[k] = vs
			}
			http.Redirect(w, r, m.LoginURL(r.URL.RequestURI(), q), http.StatusSeeOther)
		}))
	}
}

// satisfiedBy reports why the sign-in of d does not satisfy a, or nil.
func (a Authentication) satisfiedBy(d *session.Data, now time.Time) error {
	if len(a.ACR) == 0 && a.MaxAge <= 0 {
		return nil
	}
	var c struct {
		ACR      string   `json:"acr"`
		AuthTime *float64 `json:"auth_time"`
	}
	if err := d.Claims(&c); err != nil {
		return err
	}
	if len(a.ACR) > 0 && !slices.Contains(a.ACR, c.ACR) {
		return errors.New("acr is not one the route accepts")
	}
	if a.MaxAge > 0 {
		if c.AuthTime == nil {
			return errors.New("no auth_time")
		}
		// The callback's leeway, so that what it accepted the route
		// accepts too: a provider that answers from a session just past
		// the limit must not send the browser round again.
		if now.Sub(time.Unix(int64(*c.AuthTime), 0)) > a.MaxAge+authTimeLeeway {
			return errors.New("authenticated too long ago")
		}
	}
	return nil
}
