package middleware

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/internal/answer"
	"github.com/endsession/endsession/providers"
)

// The causes a failed call to a provider is classified under, for
// errors.Is on an [Error]'s Err and on the error of
// [Middleware.CheckProviders].
var (
	// ErrProviderUnreachable is a provider that could not be reached or
	// failed itself: no connection, a time-out, or a 5xx (or 429) answer.
	// Retrying later may work.
	ErrProviderUnreachable = errors.New("the provider could not be reached")
	// ErrProviderMisconfigured is a provider that answered, but not as
	// its configuration here expects: the token endpoint refused the
	// client (invalid_client), the discovery document names another
	// issuer ([providers.ErrIssuerMismatch]), a document or key set is
	// not where it is looked for. Retrying does not help; the site's
	// configuration (or the client's registration) must change.
	ErrProviderMisconfigured = errors.New("sign-in is misconfigured")
	// ErrNoKeys is a provider whose key set holds no signing key: no ID
	// token of it can be verified.
	ErrNoKeys = errors.New("the provider publishes no keys")
)

// failureKind is how a failed call to a provider is answered.
type failureKind int

const (
	failureMisconfigured failureKind = iota
	failureUnreachable
	failureTimeout
)

// classify tells a provider that could not be reached (the network, a
// time-out, the provider's own failure: 5xx, or 429 when it sheds load)
// from one that answered what this configuration cannot use: any other
// status, a document that is not what it should be, another issuer.
func classify(err error) failureKind {
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return failureTimeout
	}
	if status, ok := answeredStatus(err); ok {
		if status >= 500 || status == http.StatusTooManyRequests {
			return failureUnreachable
		}
		return failureMisconfigured
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) {
		return failureUnreachable
	}
	return failureMisconfigured
}

// answeredStatus returns the HTTP status of a provider's answer that err
// reports, if it reports one.
func answeredStatus(err error) (int, bool) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode, true
	}
	var f *answer.Failure
	if errors.As(err, &f) {
		return f.Status, true
	}
	return 0, false
}

// providerError answers a call to the provider named name, at step, that
// failed: 504 for a time-out and 502 for a provider that could not be
// reached, both worth retrying; 500 for a site whose configuration does
// not fit the provider, whose page says so and whose log record says what
// to fix (never with the provider's text).
func providerError(name, step string, err error) *Error {
	switch classify(err) {
	case failureTimeout:
		return newError(http.StatusGatewayTimeout, "provider_timeout", "The sign-in provider did not answer in time. Please try again.",
			fmt.Errorf("%s: %w: %w", step, ErrProviderUnreachable, err))
	case failureUnreachable:
		return newError(http.StatusBadGateway, "provider_error", "The sign-in provider could not be reached. Please try again.",
			fmt.Errorf("%s: %w: %w", step, ErrProviderUnreachable, err))
	}
	e := newError(http.StatusInternalServerError, "misconfigured",
		"Sign-in is misconfigured on this site. Please tell the site's administrators, with the reference below.",
		fmt.Errorf("%s: %w: %w", step, ErrProviderMisconfigured, err))
	e.fix = fixFor(name, step, err)
	return e
}

// fixFor says, for an operator, what to change so that the call to the
// provider named name, at step, stops failing with err. It quotes only
// the configuration and well-formed OAuth error codes, never the
// provider's text.
func fixFor(name, step string, err error) string {
	status, _ := answeredStatus(err)
	var re *oauth2.RetrieveError
	code := ""
	if errors.As(err, &re) {
		code = answer.Code(re.ErrorCode)
	}
	switch {
	case errors.Is(err, providers.ErrIssuerMismatch) && step == "discovery":
		return fmt.Sprintf("the discovery document of provider %q names another issuer than its Issuer (both are in the reason): set Issuer to exactly the issuer the provider publishes, trailing slash included", name)
	case errors.Is(err, providers.ErrIssuerMismatch):
		return fmt.Sprintf("the ID tokens of provider %q name another issuer than its Issuer (both are in the reason): set Issuer to exactly their iss, trailing slash included", name)
	case step == "discovery":
		return fmt.Sprintf("provider %q has no usable discovery document (status %d) at its Issuer + /.well-known/openid-configuration: check Issuer, or DiscoveryURL", name, status)
	case step == "token" && (code == "invalid_client" || status == http.StatusUnauthorized):
		return fmt.Sprintf("provider %q refused the application's client credentials at its token endpoint (invalid_client): check ClientID, ClientSecret or ClientKey (and the public key registered there) and AuthMethod against the client registered there", name)
	case step == "par" && (code == "invalid_client" || status == http.StatusUnauthorized):
		return fmt.Sprintf("provider %q refused the application's client credentials at its pushed authorization request endpoint (invalid_client): check ClientID, ClientSecret or ClientKey (and the public key registered there) and AuthMethod against the client registered there", name)
	case step == "par":
		return fmt.Sprintf("provider %q refused the pushed authorization request (status %d %s): check the client's registration there (its redirect URI, PAR allowed), or that the endpoint answers a request_uri", name, status, code)
	case step == "token" && code == "unauthorized_client":
		return fmt.Sprintf("provider %q does not allow this client the authorization code grant (unauthorized_client): check the client's registration there", name)
	case step == "token":
		return fmt.Sprintf("provider %q refused the token request (status %d %s): check the client's registration there (its redirect URI, grant types and AuthMethod)", name, status, code)
	case step == "keys":
		return fmt.Sprintf("the key set of provider %q could not be used (status %d): check JWKSURL, or the jwks_uri of its discovery document", name, status)
	case step == "userinfo":
		return fmt.Sprintf("provider %q refused its userinfo request (status %d): check the scopes, or turn UserInfo off", name, status)
	}
	return fmt.Sprintf("provider %q answered the %s step in a way this configuration cannot use: check its Issuer and endpoints", name, step)
}

// idTokenIssuerMismatch answers an ID token that the token endpoint sent
// and that names another issuer than issuer, the configured one, as a
// misconfiguration: the token endpoint is the provider's own, reached
// server to server, so its tokens name the provider's real issuer (with
// explicit endpoints nothing else compares the two). The token is refused
// either way; its iss, read unverified, only chooses the answer.
func idTokenIssuerMismatch(name, issuer, raw string) (*Error, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, decodeErr := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Issuer string `json:"iss"`
	}
	if decodeErr != nil || json.Unmarshal(payload, &claims) != nil || claims.Issuer == "" || claims.Issuer == issuer {
		return nil, false
	}
	// go-oidc's own error quotes the iss whatever it is: left out.
	return providerError(name, "token", fmt.Errorf("%w: the ID token names %s, not the configured %q",
		providers.ErrIssuerMismatch, answer.Identifier(claims.Issuer), issuer)), true
}
