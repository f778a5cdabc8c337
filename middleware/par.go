package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/endsession/endsession/internal/answer"
	"github.com/endsession/endsession/providers"
)

// maxPushedAnswer bounds the answer of a pushed authorization request: a
// request_uri and its lifetime.
const maxPushedAnswer = 64 << 10

// maxRequestURI bounds the request_uri a provider gives, which the browser
// then carries.
const maxRequestURI = 2048

// usesPAR reports whether p's logins push their authorization requests
// (RFC 9126): the configuration asks for it and the provider has the
// endpoint, or the provider requires it.
func usesPAR(p *provider, e providers.Endpoints) bool {
	return e.RequirePushed || p.PushedAuthorization && e.PushedAuthURL != ""
}

// pushAuthorization posts the parameters of the authorization request
// authURL (the URL a login would send the browser to) to p's pushed
// authorization request endpoint, with the client's authentication as at
// the token endpoint, and returns the URL to send the browser to instead:
// the authorization endpoint with only client_id and request_uri. The
// provider's answer is read within a size limit and, when it fails, only
// summarised (its status and OAuth error code).
func (m *Middleware) pushAuthorization(ctx context.Context, p *provider, resolved *providers.Resolved, authURL string) (string, error) {
	endpoint := resolved.Endpoints.PushedAuthURL
	if endpoint == "" {
		return "", errors.New("the provider requires pushed authorization requests (require_pushed_authorization_requests) but names no pushed_authorization_request_endpoint")
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("pushed authorization request: %w", err)
	}
	form := u.Query()
	basic, err := m.addClientAuth(p, p.TokenAuthMethod(), resolved.OAuth2.Endpoint.TokenURL, form)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(m.providerCall(ctx, p.Name, "pushed_authorization"), m.cfg.ProviderTimeout)
	defer cancel()
	resp, err := m.postForm(ctx, p, endpoint, form, basic)
	if err != nil {
		return "", fmt.Errorf("pushed authorization request: %w", err)
	}
	defer resp.Body.Close()
	body, err := answer.Read(resp, maxPushedAnswer)
	if err != nil {
		return "", fmt.Errorf("pushed authorization request: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", answer.Failed("pushed authorization request", resp, body)
	}
	var pushed struct {
		RequestURI string `json:"request_uri"`
	}
	if json.Unmarshal(body, &pushed) != nil {
		return "", errors.New("pushed authorization request: the answer is not a JSON object")
	}
	if !validRequestURI(pushed.RequestURI) {
		return "", errors.New("pushed authorization request: the answer has no usable request_uri")
	}
	target, err := url.Parse(resolved.OAuth2.Endpoint.AuthURL)
	if err != nil {
		return "", fmt.Errorf("authorization endpoint: %w", err)
	}
	q := target.Query()
	q.Set("client_id", p.ClientID)
	q.Set("request_uri", pushed.RequestURI)
	target.RawQuery = q.Encode()
	return target.String(), nil
}

// validRequestURI reports whether s can be a request_uri: printable ASCII
// without spaces, of a bounded length, with a scheme (RFC 9126 §2.2).
func validRequestURI(s string) bool {
	if s == "" || len(s) > maxRequestURI {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}
