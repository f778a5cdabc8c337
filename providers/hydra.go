package providers

// Hydra returns a provider named "hydra" for Ory Hydra (self-hosted) or
// Ory Network's OAuth2 service, configured through discovery at issuer +
// "/.well-known/openid-configuration". issuer is Hydra's
// urls.self.issuer exactly as configured, trailing slash or not (Ory
// Network: "https://{project-slug}.projects.oryapis.com"). The endpoints
// are /oauth2/auth, /oauth2/token, /.well-known/jwks.json, /userinfo,
// /oauth2/sessions/logout and /oauth2/revoke.
//
// A client with a secret sends it with HTTP Basic, Hydra's default
// token_endpoint_auth_method (client_secret_basic); for a client created
// with client_secret_post set AuthMethod to [AuthPost]. The scopes are
// "openid offline_access", which a client created without --scope
// allows (inferred from Hydra's client defaults): Hydra refuses a scope the client is not allowed (invalid_scope),
// so add "profile" or "email" to both the client and Scopes. The claims of
// the ID token come from the application's consent app.
//
// Logout is RP-Initiated Logout at /oauth2/sessions/logout, by GET, with
// id_token_hint, post_logout_redirect_uri and state; Hydra honours
// post_logout_redirect_uri only with id_token_hint and when it is among
// the client's post_logout_redirect_uris: register AppURL +
// "/auth/logged-out" there. client_id is not sent. Hydra then runs the
// logout app's flow before redirecting, with the state.
//
// Hydra sends back-channel logout tokens to the client's
// backchannel_logout_uri (set it to AppURL + "/auth/backchannel-logout")
// and supports front-channel logout (frontchannel_logout_uri); both carry
// the sid the middleware matches. At logout the refresh and access tokens
// are revoked at /oauth2/revoke.
//
// Documentation: https://www.ory.sh/docs/oauth2-oidc/oidc-logout
func Hydra(issuer, clientID, clientSecret string) Provider {
	p := OIDC("hydra", issuer, clientID, clientSecret)
	p.Scopes = []string{"openid", "offline_access"}
	p.Logout = RPInitiated{}
	return p
}
