package providers

import "strings"

// Okta returns a provider named "okta" for an Okta authorization server,
// configured through discovery. domain is the Okta org's domain, such as
// "dev-123456.okta.com" or a custom domain. authServerID chooses the
// server:
//
//   - "" is the org authorization server: issuer "https://{domain}",
//     endpoints under https://{domain}/oauth2/v1 (authorize, token, keys,
//     userinfo, logout, revoke). It signs in users to the org and its
//     apps; its access tokens are for Okta's own APIs.
//   - an id ("default", or one like "aus1a2b3c4") is a custom
//     authorization server: issuer "https://{domain}/oauth2/{authServerID}",
//     endpoints under that issuer's /v1. Use one when the access tokens
//     are for the application's own APIs.
//
// The two issue tokens of different issuers: a token of the org server is
// refused by a provider configured for "default", and the other way
// round. Discovery is at {issuer}/.well-known/openid-configuration.
//
// A client with a secret sends it with HTTP Basic ("Client secret" in the
// app's Client authentication; Okta also takes client_secret_post: set
// AuthMethod to [AuthPost]); without one the client is public and relies
// on PKCE, which Okta requires of public clients. Add "offline_access"
// to Scopes, with the Refresh Token grant allowed for the app, for
// refresh tokens.
//
// Logout is RP-Initiated Logout at the discovered end_session_endpoint,
// {issuer}/v1/logout, by GET, with id_token_hint, post_logout_redirect_uri
// and state. Okta requires id_token_hint: a session without an ID token
// ends locally, with the "local-only" notice (RPInitiated.RequireIDToken),
// rather than with an error page at Okta. Register AppURL +
// "/auth/logged-out" as a "Sign-out redirect URI" of the app: Okta
// redirects nowhere else. At logout the tokens are revoked at
// {issuer}/v1/revoke (from discovery).
//
// Channels: Okta sends no back-channel or front-channel logout to OpenID
// Connect apps (inferred: not in its discovery documents; its Universal
// Logout is a different, proprietary API). No RFC 9207 "iss" on the
// callback is documented (the middleware follows discovery's
// authorization_response_iss_parameter_supported).
//
// Documentation: https://developer.okta.com/docs/reference/api/oidc/#logout
// Documentation: https://developer.okta.com/docs/concepts/auth-servers/
// Documentation: https://developer.okta.com/docs/guides/sign-users-out/aspnetcore/define-signout-callback/
func Okta(domain, authServerID, clientID, clientSecret string) Provider {
	issuer := "https://" + strings.TrimSuffix(domain, "/")
	if authServerID != "" {
		issuer += "/oauth2/" + authServerID
	}
	p := OIDC("okta", issuer, clientID, clientSecret)
	p.Logout = RPInitiated{RequireIDToken: true}
	return p
}
