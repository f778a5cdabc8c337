package providers

import "strings"

// Keycloak returns a provider named "keycloak" for a Keycloak realm,
// configured through discovery at
// {baseURL}/realms/{realm}/.well-known/openid-configuration. The issuer is
// baseURL + "/realms/" + realm, the form of Keycloak 17 and later; for an
// older server, or one behind a path, give that path in baseURL (such as
// "https://sso.example.org/auth").
//
// A client with a secret ("Client Id and Secret" in Keycloak) sends it
// with HTTP Basic; without one the client is public and relies on PKCE.
//
// Logout is RP-Initiated Logout at the discovered end_session_endpoint,
// {issuer}/protocol/openid-connect/logout, by GET, with id_token_hint,
// post_logout_redirect_uri, state and client_id: Keycloak's logout
// endpoint takes exactly these (with ui_locales), and refuses a
// post_logout_redirect_uri that comes with neither id_token_hint nor
// client_id, so client_id is always sent. Register AppURL +
// "/auth/logged-out" as a "Valid post logout redirect URI" of the client.
// Keycloak can also send back-channel logout tokens: set the client's
// "Backchannel logout URL" to AppURL + "/auth/backchannel-logout".
//
// Documentation: https://www.keycloak.org/docs-api/latest/javadocs/org/keycloak/protocol/oidc/endpoints/LogoutEndpoint.html
// Documentation: https://www.keycloak.org/docs/latest/securing_apps/#_oidc
func Keycloak(baseURL, realm, clientID, clientSecret string) Provider {
	return OIDC("keycloak", strings.TrimSuffix(baseURL, "/")+"/realms/"+realm, clientID, clientSecret)
}
