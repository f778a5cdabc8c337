package op

import (
	"net/http"
	"strings"
	"time"
)

// At is a driver for another OpenID provider at issuer, for what needs
// only its standard endpoints (Discovery). The methods that use
// oidc-provider's admin routes and event log do not apply to it.
func At(issuer string) *OP {
	return &OP{URL: strings.TrimSuffix(issuer, "/"), http: &http.Client{Timeout: 10 * time.Second}}
}
