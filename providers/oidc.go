package providers

// OIDC returns any standard OpenID provider, configured through discovery
// at issuer + "/.well-known/openid-configuration". The issuer is compared
// byte for byte with the discovery document, the ID tokens and the
// callback's "iss": give it exactly as the provider writes it.
//
// Login is the authorization code flow with PKCE; a client with a secret
// authenticates with HTTP Basic (set AuthMethod to [AuthPost] for
// providers that want the secret in the body).
//
// Logout is RP-Initiated Logout 1.0 at the discovered
// end_session_endpoint, by GET, with id_token_hint,
// post_logout_redirect_uri, state and client_id. A provider without an
// end_session_endpoint gets a local logout (the middleware warns). For
// logout_hint, ui_locales, a POST form or another endpoint, replace the
// strategy:
//
//	p.Logout = providers.RPInitiated{ClientID: true, LogoutHint: true, UILocales: "fr", Method: http.MethodPost}
//
// Documentation: https://openid.net/specs/openid-connect-discovery-1_0.html
// Documentation: https://openid.net/specs/openid-connect-rpinitiated-1_0.html
func OIDC(name, issuer, clientID, clientSecret string) Provider {
	return Provider{
		Name:         name,
		Issuer:       issuer,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Logout:       RPInitiated{ClientID: true},
	}
}
