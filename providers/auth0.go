package providers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Auth0 returns a provider for an Auth0 tenant, configured through
// discovery at https://{domain}/.well-known/openid-configuration. domain
// is the tenant's domain, such as "acme.eu.auth0.com", or its custom
// domain. The issuer is "https://{domain}/", with the trailing slash
// Auth0 puts in its tokens.
//
// A client with a secret sends it in the token request's body
// (client_secret_post), Auth0's default for regular web applications; set
// AuthMethod to [AuthBasic] on the returned provider for an application
// configured for "Client Secret (Basic)". Without a secret the client is
// public and relies on PKCE.
//
// The scopes are "openid profile email offline_access": Auth0 issues a
// refresh token only for offline_access (with "Allow Offline Access" on
// the API, and the Refresh Token grant allowed for the application), and
// without one the session cannot outlive its first access token (see
// middleware.Config.ExpiredTokenEndsSession).
//
// At logout the refresh token is revoked at /oauth/revoke (from
// discovery); the access token is not sent there, since Auth0's
// revocation endpoint takes refresh tokens only (its access tokens are
// JWTs that expire on their own).
//
// Logout is [Auth0Logout]: the OpenID Connect endpoint /oidc/logout when
// the tenant's discovery advertises it, the legacy /v2/logout otherwise.
// Register the application's post-logout landing URL (AppURL +
// "/auth/logged-out" with the default prefix) in the application's
// Allowed Logout URLs: Auth0 matches it exactly, query string included,
// so the middleware never puts anything dynamic in it.
//
// Documentation: https://auth0.com/docs/authenticate/login/logout/log-users-out-of-auth0
// Documentation: https://auth0.com/docs/secure/tokens/refresh-tokens/get-refresh-tokens
// Documentation: https://auth0.com/docs/secure/tokens/refresh-tokens/revoke-refresh-tokens
func Auth0(domain, clientID, clientSecret string) Provider {
	method := AuthPost
	if clientSecret == "" {
		method = AuthNone
	}
	return Provider{
		Name:         "auth0",
		Issuer:       "https://" + domain + "/",
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AuthMethod:   method,
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
		// Organizations, invitations and the sign-up screen, per login.
		// Documentation: https://auth0.com/docs/api/authentication/authorization-code-flow/authorize-application
		LoginParams: []string{"organization", "invitation", "screen_hint"},
		Logout:      Auth0Logout{Domain: domain},
		// /oauth/revoke takes refresh tokens only.
		RevokeRefreshOnly: true,
	}
}

// Auth0Logout ends a session at Auth0, choosing the endpoint at logout
// time:
//
//   - GET /oidc/logout (RP-Initiated Logout) with id_token_hint,
//     post_logout_redirect_uri, state and client_id, when discovery
//     advertised it as end_session_endpoint (tenants created since
//     November 2023 do by default) and Legacy is false. Without an ID
//     token, the session id goes as logout_hint instead.
//   - GET /v2/logout?client_id=...&returnTo=... otherwise. Sending
//     client_id makes Auth0 check returnTo against the application's
//     Allowed Logout URLs rather than the tenant's. No state is sent:
//     /v2/logout does not return one.
//
// Both URLs match the allow-list exactly, so the middleware always
// passes its fixed landing URL; where the user goes next travels in its
// own state cookie.
//
// Documentation: https://auth0.com/docs/api/authentication/logout/oidc-logout
// Documentation: https://auth0.com/docs/api/authentication/logout/auth-0-logout
type Auth0Logout struct {
	// Domain is the tenant's domain, for /v2/logout. Default: the host of
	// the discovered authorization endpoint.
	Domain string
	// Legacy always uses /v2/logout.
	Legacy bool
	// Federated also logs the user out of the identity provider behind
	// Auth0 (a social or enterprise connection) by adding the value-less
	// "federated" parameter. It is rarely what users expect.
	Federated bool
}

// EndSession implements [Logout].
func (l Auth0Logout) EndSession(ctx context.Context, req *LogoutRequest) (Action, error) {
	if !l.Legacy && req.Endpoints.EndSessionURL != "" {
		act, err := RPInitiated{ClientID: true, LogoutHint: req.IDToken == ""}.EndSession(ctx, req)
		if err == nil && l.Federated && act.Method == http.MethodGet {
			act.URL = withFlag(act.URL, "federated")
		}
		return act, err
	}
	domain := l.Domain
	if domain == "" {
		if u, err := url.Parse(req.Endpoints.AuthURL); err == nil {
			domain = u.Host
		}
	}
	if domain == "" {
		return Action{}, errors.New("providers: auth0: no tenant domain for /v2/logout")
	}
	q := url.Values{"client_id": {req.ClientID}}
	if req.ReturnURL != "" {
		q.Set("returnTo", req.ReturnURL)
	}
	u := "https://" + strings.TrimSuffix(domain, "/") + "/v2/logout?" + q.Encode()
	if l.Federated {
		u = withFlag(u, "federated")
	}
	return Action{Method: http.MethodGet, URL: u}, nil
}

// withFlag adds a value-less query parameter, such as "?federated", to u.
func withFlag(u, flag string) string {
	if strings.Contains(u, "?") {
		return u + "&" + flag
	}
	return u + "?" + flag
}
