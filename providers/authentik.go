package providers

import "strings"

// Authentik returns a provider named "authentik" for an authentik
// OAuth2/OpenID provider bound to the application slug, configured
// through discovery at
// {baseURL}/application/o/{slug}/.well-known/openid-configuration.
// The issuer is "{baseURL}/application/o/{slug}/", trailing slash
// included, the provider's default "Issuer mode" (one issuer per
// application). With the "Same identifier is used for all providers"
// mode the issuer is "{baseURL}/application/o/" (inferred from the
// mode's name): set Issuer and DiscoveryURL on the returned provider.
//
// The authorize, token, userinfo and revoke endpoints are shared by all
// applications (/application/o/authorize/, /token/, /userinfo/,
// /revoke/, trailing slashes included); the keys and the logout are the
// application's (/application/o/{slug}/jwks/ and /end-session/). A
// confidential client sends its secret with HTTP Basic (authentik also
// takes it in the body: AuthMethod [AuthPost]); a public client relies on
// PKCE. Add "offline_access" to Scopes for refresh tokens.
//
// Logout is RP-Initiated Logout at the application's end-session
// endpoint, by GET, with id_token_hint, post_logout_redirect_uri and
// state. authentik runs the provider's invalidation flow, then redirects
// to post_logout_redirect_uri with the state appended, provided the URI
// is among the provider's post-logout redirect URIs (strict or regex)
// and id_token_hint comes with it; it accepts an expired hint
// (ExpiredHintAccepted) and ignores client_id, which is not sent. Register
// AppURL + "/auth/logged-out" as a post-logout redirect URI. This is
// authentik's end-session view of 2025.10 and later (its source); older
// versions ignore post_logout_redirect_uri and leave the user on
// authentik's own page (inferred from their source's history).
//
// authentik 2025.8 and later send back-channel or front-channel logout
// (the provider's "Logout URI" and "Logout Method"): set
// AppURL + "/auth/backchannel-logout" with the back-channel method, the
// one that does not depend on the browser's third-party cookies.
//
// Documentation: https://docs.goauthentik.io/add-secure-apps/providers/oauth2/
// Documentation: https://docs.goauthentik.io/add-secure-apps/providers/oauth2/frontchannel_and_backchannel_logout
// Source: https://github.com/goauthentik/authentik/blob/main/authentik/providers/oauth2/views/end_session.py
func Authentik(baseURL, slug, clientID, clientSecret string) Provider {
	p := OIDC("authentik", strings.TrimSuffix(baseURL, "/")+"/application/o/"+slug+"/", clientID, clientSecret)
	p.Logout = RPInitiated{}
	p.ExpiredHintAccepted = true
	return p
}
