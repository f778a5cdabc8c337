package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// With several providers, each one's login comes back to its own
// callback, PathPrefix + "/callback/" + its name, registered at that
// provider alone: RFC 9700 §4.4.2's defence against mix-up. A provider
// that does not send RFC 9207's iss still cannot have the application
// redeem a code it issued at another provider's token endpoint: the
// callback a response arrives at must be the one of the provider whose
// login started the flow. With one provider the callback stays
// PathPrefix + "/callback".

// callbackRoutes gives each login provider its callback path, under
// PathPrefix, and returns the routes to add, or an error for a name that
// cannot be a path segment.
func callbackRoutes(list []*provider, handler http.HandlerFunc) (map[string]http.HandlerFunc, error) {
	var logins []*provider
	for _, p := range list {
		if p.HasLogin() {
			logins = append(logins, p)
		}
	}
	routes := map[string]http.HandlerFunc{"/callback": handler}
	if len(logins) < 2 {
		for _, p := range logins {
			p.callbackPath = "/callback"
		}
		return routes, nil
	}
	for _, p := range logins {
		if !validCallbackName(p.Name) {
			return nil, fmt.Errorf("middleware: provider name %q is not a path segment of letters, digits, '-', '_' and '.': with several providers it names the provider's callback, /callback/NAME", p.Name)
		}
		p.callbackPath = "/callback/" + p.Name
		routes[p.callbackPath] = handler
	}
	return routes, nil
}

func validCallbackName(name string) bool {
	return name != "" && name != "." && name != ".." && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == ""
}

// checkCallbackPath refuses a response that arrived at another callback
// than the one of p, the provider of its flow. With a single provider
// there is nothing to mix up, and the route is not checked.
func (m *Middleware) checkCallbackPath(r *http.Request, p *provider) *Error {
	if p.callbackPath == "/callback" || r.URL.Path == m.cfg.PathPrefix+p.callbackPath {
		return nil
	}
	return newError(http.StatusBadRequest, "invalid_callback",
		"The sign-in response came back to another provider's address. Please sign in again.",
		errors.New("the response arrived at another callback than the one of its flow's provider"))
}
