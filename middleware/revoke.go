package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// revokeTokens revokes d's refresh token and its access token at the
// provider's revocation endpoint (RFC 7009), when it has one, side by
// side, each bounded by LogoutTimeout; only the refresh token for a provider whose endpoint
// takes nothing else (Provider.RevokeRefreshOnly), or only one of them for
// a provider where one revocation ends the grant (Provider.RevokeEndsGrant):
// the second would be refused. The client authenticates as at the token
// endpoint, or with a method the revocation endpoint lists as its own
// (revocation_endpoint_auth_methods_supported) when that one is not among
// them. A failure is reported and logged; it never holds the logout back.
func (m *Middleware) revokeTokens(ctx context.Context, p *provider, resolved *providers.Resolved, d *session.Data, rep *LogoutReport) {
	endpoint := resolved.Endpoints.RevocationURL
	access := d.AccessToken
	if p.RevokeRefreshOnly || p.RevokeEndsGrant && d.RefreshToken != "" {
		access = ""
	}
	if endpoint == "" || d.RefreshToken == "" && access == "" {
		return
	}
	ctx, cancel := context.WithTimeout(m.providerCall(ctx, p.Name, "revocation"), m.cfg.LogoutTimeout)
	defer cancel()
	// Side by side: the sign-out waits for one round trip, not two.
	tokens := [...]struct{ hint, token string }{
		{"refresh_token", d.RefreshToken},
		{"access_token", access},
	}
	var results [len(tokens)]error
	var wg sync.WaitGroup
	for i, t := range tokens {
		if t.token == "" {
			continue
		}
		wg.Go(func() { results[i] = m.revoke(ctx, p, resolved, t.token, t.hint) })
	}
	wg.Wait()
	var revoked []string
	var errs []error
	for i, t := range tokens {
		switch {
		case t.token == "":
		case results[i] != nil:
			errs = append(errs, fmt.Errorf("%s: %w", t.hint, results[i]))
		default:
			revoked = append(revoked, t.hint)
		}
	}
	detail := "revoked:"
	for _, h := range revoked {
		detail += " " + h
	}
	if len(revoked) == 0 {
		detail = ""
	}
	err := errors.Join(errs...)
	rep.add("provider.revoke", err, detail)
	if err != nil {
		m.log.WarnContext(ctx, "token revocation failed; logout goes on", "event", "logout", "provider", p.Name,
			"correlation_id", rep.CorrelationID, "reason", describe(err))
	}
}

// revoke posts one revocation request. Only 200 means revoked (RFC 7009
// §2.2: an unknown token is 200 too).
func (m *Middleware) revoke(ctx context.Context, p *provider, resolved *providers.Resolved, token, hint string) error {
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	method := p.RevocationAuthMethod(resolved.Endpoints.RevocationAuthMethods)
	basic, err := m.addClientAuth(p, method, resolved.OAuth2.Endpoint.TokenURL, form)
	if err != nil {
		return err
	}
	resp, err := m.postForm(ctx, p, resolved.Endpoints.RevocationURL, form, basic)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered %d", resp.StatusCode)
	}
	return nil
}

// postForm POSTs form to a provider's endpoint as a client does, with the
// client's HTTP Basic credentials when basic (the other client
// authentication methods are in form already).
func (m *Middleware) postForm(ctx context.Context, p *provider, endpoint string, form url.Values, basic bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		setBasicAuth(req, p)
	}
	return m.cfg.HTTPClient.Do(req)
}
