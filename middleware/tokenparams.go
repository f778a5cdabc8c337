package middleware

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/endsession/endsession/providers"
)

// tokenClient returns the client of p's token requests: Config.HTTPClient,
// adding to the body of every request to the token endpoint (the code
// exchange and the refresh alike) p.TokenParams and, for a
// private_key_jwt client, a fresh client assertion. x/oauth2 takes extra
// parameters for the exchange only, keeps one value per name, and knows
// no client assertion; its x/oauth2 types are kept all the same.
func (m *Middleware) tokenClient(p *provider, resolved *providers.Resolved) *http.Client {
	withKey := p.TokenAuthMethod() == providers.AuthPrivateKeyJWT
	if len(p.TokenParams) == 0 && !withKey {
		return m.cfg.HTTPClient
	}
	c := *m.cfg.HTTPClient
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	t := &tokenParams{next: next, tokenURL: resolved.OAuth2.Endpoint.TokenURL, params: p.TokenParams}
	if withKey {
		t.auth = func(form url.Values) error {
			_, err := m.addClientAuth(p, providers.AuthPrivateKeyJWT, t.tokenURL, form)
			return err
		}
	}
	c.Transport = t
	return &c
}

// tokenParams is a RoundTripper that adds params to the form of the POSTs
// to tokenURL, and the client's credentials with auth when it is set.
type tokenParams struct {
	next     http.RoundTripper
	tokenURL string
	params   url.Values
	auth     func(form url.Values) error
}

func (t *tokenParams) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.URL.String() != t.tokenURL || req.Body == nil {
		return t.next.RoundTrip(req)
	}
	raw, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("token request body: %w", err)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, fmt.Errorf("token request body: %w", err)
	}
	for k, vs := range t.params {
		if form.Has(k) {
			continue // the protocol's own parameters win
		}
		form[k] = append([]string(nil), vs...)
	}
	if t.auth != nil {
		if err := t.auth(form); err != nil {
			return nil, err
		}
	}
	body := form.Encode()
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader([]byte(body)))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader([]byte(body))), nil }
	out.ContentLength = int64(len(body))
	out.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return t.next.RoundTrip(out)
}
