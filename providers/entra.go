package providers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// EntraConsumersTenant is the tenant id of personal Microsoft accounts,
// the issuer's tenant for the "consumers" authority.
//
// Documentation: https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
const EntraConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// Entra returns a provider named "entra" for a Microsoft Entra ID tenant
// (formerly Azure AD), through the v2.0 endpoints, configured through
// discovery at
// https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration.
// tenant is the tenant id (a GUID), whose issuer is
// "https://login.microsoftonline.com/{tenant}/v2.0", or "consumers" for
// personal Microsoft accounts (the issuer's tenant is then
// [EntraConsumersTenant]).
//
// "organizations" (work and school accounts of any tenant) and "common"
// (those and personal accounts) are multi-tenant: their discovery
// document names the issuer "https://login.microsoftonline.com/{tenantid}/v2.0",
// a template, and each ID token has its user's own tenant as issuer. The
// preset sets Provider.MultiTenant for them; list the accepted tenant ids
// in its Tenants (or set AnyTenant, and decide from the "tid" claim):
// Validate refuses a multi-tenant provider that accepts no tenant. The
// middleware checks that iss is the template with the token's tid, as
// Microsoft's validation guidance says. The application registration
// must be multi-tenant. A tenant's domain name (contoso.onmicrosoft.com)
// is refused: the issuer has the GUID.
//
// The client sends its secret in the token request's body, as Microsoft's
// examples do (client_secret_post; Entra also takes HTTP Basic). Without
// a secret the client is public and relies on PKCE. The scopes are
// "openid profile email offline_access": Entra issues a refresh token
// only for offline_access.
//
// Logout is [EntraLogout]: a GET to the tenant's end_session_endpoint,
// /{tenant}/oauth2/v2.0/logout, with post_logout_redirect_uri, state and
// logout_hint. Microsoft's sign-out request lists post_logout_redirect_uri
// and logout_hint; state is echoed back as MSAL documents (inferred from
// MSAL, not from the protocol page). Without logout_hint Microsoft shows
// an account picker: add the "login_hint" optional claim to the ID token
// (App registration > Token configuration) and keep "profile" in the
// scopes; its value goes as logout_hint. Register AppURL +
// "/auth/logged-out" as a redirect URI of the application (Microsoft
// checks post_logout_redirect_uri against the reply URLs).
//
// Channels: Entra has front-channel logout ("Front-channel logout URL" in
// the app registration: AppURL + "/auth/frontchannel-logout";
// discovery says frontchannel_logout_supported) and no back-channel
// logout. Its front-channel request carries sid and no iss, against the
// specification (reported on Microsoft Q&A; not in Microsoft's protocol
// pages): the preset sets FrontchannelSIDOnly, so the middleware's route
// takes it, as long as no other configured provider says the same. The
// ID token has sid only with the "sid" optional claim: add it, or no
// session matches. No RFC 9207 "iss" on the callback (inferred: not in
// discovery). Entra has no revocation endpoint.
//
// Documentation: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc
// Documentation: https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference
// Documentation: https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
// Documentation: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
// Documentation: https://learn.microsoft.com/en-us/answers/questions/11341/oidc-front-channel-logout-not-adhering-to-spec
// Documentation: https://aaddevsup.azurewebsites.net/2022/03/how-to-logout-of-an-oauth2-application-without-getting-prompted-to-select-a-user/
func Entra(tenant, clientID, clientSecret string) Provider {
	method := AuthPost
	if clientSecret == "" {
		method = AuthNone
	}
	p := Provider{
		Name:         "entra",
		Issuer:       "https://login.microsoftonline.com/" + strings.ToLower(tenant) + "/v2.0",
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AuthMethod:   method,
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
		Logout:       EntraLogout{},
		// No id_token_hint is sent, so the stored ID token need not be
		// fresh: no refresh before the logout.
		ExpiredHintAccepted: true,
		// Entra's front-channel logout sends sid without iss.
		FrontchannelSIDOnly: true,
	}
	switch t := strings.ToLower(tenant); {
	case t == "consumers":
		p.Issuer = "https://login.microsoftonline.com/" + EntraConsumersTenant + "/v2.0"
		p.DiscoveryURL = "https://login.microsoftonline.com/consumers/v2.0/.well-known/openid-configuration"
	case t == "common" || t == "organizations":
		// Each user's ID token has their own tenant as its issuer.
		p.Issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
		p.DiscoveryURL = "https://login.microsoftonline.com/" + t + "/v2.0/.well-known/openid-configuration"
		p.MultiTenant = &MultiTenant{Claim: "tid"}
	case !isGUID(t):
		p.err = errors.New(`Entra tenant must be a tenant id (a GUID), "organizations", "common" or "consumers"`)
	}
	return p
}

// EntraLogout ends a session at Microsoft Entra ID: a GET to the
// end_session_endpoint (or URL) with post_logout_redirect_uri, state and,
// when the stored ID token has the login_hint optional claim, that claim
// as logout_hint. No id_token_hint is sent.
//
// Documentation: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request
type EntraLogout struct {
	// URL overrides the discovered end_session_endpoint.
	URL string
}

// EndSession implements [Logout].
func (l EntraLogout) EndSession(ctx context.Context, req *LogoutRequest) (Action, error) {
	s := RPInitiated{URL: l.URL, OmitIDTokenHint: true}
	if hint := idTokenClaim(req.IDToken, "login_hint"); hint != "" {
		s.Extra = map[string][]string{"logout_hint": {hint}}
	}
	return s.EndSession(ctx, req)
}

// idTokenClaim returns a string claim of a stored ID token, read without
// checking its signature: the middleware verified the token at login and
// the session that kept it is signed. "" when the token is not a JWT or
// has no such claim.
func idTokenClaim(raw, name string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	v, _ := claims[name].(string)
	return v
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}
