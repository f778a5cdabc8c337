package middleware

import (
	"errors"
	"net/http"
	"strings"

	"github.com/endsession/endsession/session"
)

// A Rule decides whether a signed-in user may use a route, from the
// user's session: its claims (see [session.Data.Claims]), its provider,
// its subject. See [Middleware.Allow].
type Rule func(user session.Data) bool

// Allow returns a middleware that requires a session whose user passes
// rule. A request without a session is answered as [Middleware.Require]
// answers it; a user whom rule refuses gets 403 through
// [Config.ErrorHandler] (a page for a browser, JSON for an API call, by
// [Config.IsAPIRequest]), and the refusal is logged with the route, never
// with the user's claims. It has the shape routers take as middleware:
//
//	mux.Handle("/admin", mw.Allow(middleware.ClaimContains("groups", "admin"))(adminPage))
//	r.With(mw.Allow(middleware.EmailDomain("example.com"))).Get("/staff", staff) // chi
func (m *Middleware) Allow(rule Rule) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		allowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d, _ := r.Context().Value(sessionKey{}).(*session.Data)
			if d != nil && rule(*d) {
				next.ServeHTTP(w, r)
				return
			}
			e := newError(http.StatusForbidden, "forbidden", "Your account does not give access to this page.",
				errors.New("the route's rule refused the user at "+r.URL.Path))
			if m.cfg.IsAPIRequest(r) {
				e.Message = "Your account does not give access to this resource."
			}
			m.fail(w, r, "authorization", e)
		})
		return m.Require(allowed)
	}
}

// ClaimContains is a [Rule] that requires the claim named claim to hold
// value: the claim may be a JSON array of strings (as most providers send
// groups and roles), in which one element must equal value, or a string,
// read as space-separated values (as some providers send roles, and
// scope-like claims are), one of which must equal value; a string without
// spaces is one value. Values compare exactly.
func ClaimContains(claim, value string) Rule {
	return func(user session.Data) bool {
		var claims map[string]any
		if user.Claims(&claims) != nil {
			return false
		}
		switch v := claims[claim].(type) {
		case string:
			for _, s := range strings.Fields(v) {
				if s == value {
					return true
				}
			}
		case []any:
			for _, item := range v {
				if s, ok := item.(string); ok && s == value {
					return true
				}
			}
		}
		return false
	}
}

// EmailDomain is a [Rule] that requires the user's email address to be in
// one of domains (exactly: a subdomain is another domain), compared
// without regard to case, and verified: the provider must say
// email_verified true (as a JSON boolean, or the string "true" some
// userinfo endpoints send). Without it, anyone who may choose their
// address at the provider would pass.
func EmailDomain(domains ...string) Rule {
	return func(user session.Data) bool {
		var claims struct {
			Verified any `json:"email_verified"`
		}
		if user.Claims(&claims) != nil || (claims.Verified != true && claims.Verified != "true") {
			return false
		}
		at := strings.LastIndexByte(user.Email, '@')
		if at < 0 {
			return false
		}
		domain := user.Email[at+1:]
		for _, d := range domains {
			if strings.EqualFold(domain, d) {
				return true
			}
		}
		return false
	}
}

// AllOf is a [Rule] that requires every one of rules.
func AllOf(rules ...Rule) Rule {
	return func(user session.Data) bool {
		for _, r := range rules {
			if !r(user) {
				return false
			}
		}
		return true
	}
}

// AnyOf is a [Rule] that requires at least one of rules.
func AnyOf(rules ...Rule) Rule {
	return func(user session.Data) bool {
		for _, r := range rules {
			if r(user) {
				return true
			}
		}
		return false
	}
}
