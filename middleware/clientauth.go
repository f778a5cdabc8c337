package middleware

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/endsession/endsession/providers"
)

// addClientAuth adds to form the credentials of p's client for method, at
// an endpoint whose client assertion names audience (the token endpoint's
// URL, unless the ClientKey says otherwise), and reports whether they go
// in the Basic header instead (see setBasicAuth). An assertion is made for
// this one request: a fresh jti, a 60-second life. It is a credential like
// the secret: never logged, and never in an error's text.
func (m *Middleware) addClientAuth(p *provider, method providers.AuthMethod, audience string, form url.Values) (basic bool, err error) {
	switch method {
	case providers.AuthBasic:
		return true, nil
	case providers.AuthPost:
		form.Set("client_id", p.ClientID)
		form.Set("client_secret", p.ClientSecret)
	case providers.AuthPrivateKeyJWT:
		assertion, err := p.ClientKey.Assertion(p.ClientID, audience, m.cfg.Now())
		if err != nil {
			return false, fmt.Errorf("client authentication: %w", err)
		}
		form.Set("client_id", p.ClientID)
		form.Set("client_assertion_type", providers.ClientAssertionType)
		form.Set("client_assertion", assertion)
	default:
		form.Set("client_id", p.ClientID)
	}
	return false, nil
}

// setBasicAuth sets p's client id and secret as req's Basic credentials,
// form-encoded first as RFC 6749 §2.3.1 asks.
func setBasicAuth(req *http.Request, p *provider) {
	req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(p.ClientSecret))
}
