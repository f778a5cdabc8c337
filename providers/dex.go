package providers

// Dex returns a provider named "dex" for a Dex server, configured through
// discovery at issuer + "/.well-known/openid-configuration". issuer is
// Dex's configured issuer, exactly (its examples use a path, such as
// "https://dex.example.org/dex"); the endpoints are under it: /auth,
// /token, /keys, /userinfo.
//
// A client with a secret sends it with HTTP Basic (Dex also takes
// client_secret_post); without one the client is public and relies on
// PKCE. The scopes are "openid profile email offline_access": Dex issues
// a refresh token only for offline_access. Add "groups" to Scopes for the
// groups claim.
//
// Released versions of Dex have no logout endpoint (no
// end_session_endpoint in discovery; dexidp/dex issue 1697) and no
// revocation endpoint. So the logout ends the session here only and the
// user lands with ?logout_notice=local-only: the Dex session, and the
// session at the upstream identity provider Dex connected to, stay
// signed in. Should a Dex version advertise end_session_endpoint, the
// preset uses it (RP-Initiated Logout with id_token_hint,
// post_logout_redirect_uri, state and client_id). Dex sends no
// back-channel or front-channel logout, and no RFC 9207 "iss" on the
// callback (inferred: not in its discovery).
//
// Documentation: https://dexidp.io/docs/configuration/custom-scopes-claims-clients/
// Documentation: https://dexidp.io/docs/guides/using-dex/
// Documentation: https://github.com/dexidp/dex/issues/1697
func Dex(issuer, clientID, clientSecret string) Provider {
	p := OIDC("dex", issuer, clientID, clientSecret)
	p.Scopes = []string{"openid", "profile", "email", "offline_access"}
	return p
}
