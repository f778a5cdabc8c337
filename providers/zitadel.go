package providers

import "strings"

// Zitadel returns a provider named "zitadel" for a ZITADEL instance,
// configured through discovery at issuer + "/.well-known/openid-configuration".
// issuer is the instance's domain as a URL, such as
// "https://acme-x1y2z3.zitadel.cloud" or a self-hosted or custom domain
// ("https://auth.example.com"), with no trailing slash. The endpoints are
// /oauth/v2/authorize, /oauth/v2/token, /oauth/v2/keys, /oidc/v1/userinfo,
// /oidc/v1/end_session and /oauth/v2/revoke.
//
// A web application with the "Code" authentication method sends its
// secret with HTTP Basic (client_secret_basic, the default here; for the
// "Post" method set AuthMethod to [AuthPost]); a "PKCE" application has
// no secret and is public. Add "offline_access" to Scopes, with refresh
// tokens enabled on the application, for refresh tokens.
//
// Logout is RP-Initiated Logout at /oidc/v1/end_session, by GET, with
// id_token_hint, post_logout_redirect_uri, state and client_id (with
// client_id, a session without an ID token still comes back, as
// RP-Initiated Logout allows; inferred for ZITADEL from its OP library,
// the one of the e2e tests). Register AppURL + "/auth/logged-out" among the
// application's "Post Logout URIs".
//
// ZITADEL sends back-channel logout tokens to an application's
// "Back-Channel Logout URI" once the instance's back-channel logout
// feature is on: set it to AppURL + "/auth/backchannel-logout". Front-channel
// logout is not documented (inferred: not supported). RFC 9207 "iss" on the
// callback is as discovery says.
//
// Documentation: https://zitadel.com/docs/apis/openidoauth/endpoints
// Documentation: https://zitadel.com/docs/guides/integrate/back-channel-logout
func Zitadel(issuer, clientID, clientSecret string) Provider {
	return OIDC("zitadel", strings.TrimSuffix(issuer, "/"), clientID, clientSecret)
}
