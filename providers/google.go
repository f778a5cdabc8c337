package providers

import "net/url"

// Google returns a provider named "google" for Google accounts, configured
// through discovery at
// https://accounts.google.com/.well-known/openid-configuration; the issuer
// is "https://accounts.google.com". Its endpoints are on several hosts:
// authorize at accounts.google.com/o/oauth2/v2/auth, token at
// oauth2.googleapis.com/token, keys at www.googleapis.com/oauth2/v3/certs,
// userinfo at openidconnect.googleapis.com/v1/userinfo, revocation at
// oauth2.googleapis.com/revoke.
//
// The client sends its secret in the token request's body, as Google's
// examples do (client_secret_post; Google also takes HTTP Basic). The
// authorization request carries access_type=offline, without which Google
// issues no refresh token. Google issues one only when the user consents:
// at the first login, and again after a logout, since the logout revokes
// the grant. A login that must have one whatever the history can ask
// /auth/login?prompt=consent (the middleware passes prompt on).
//
// Google has no logout endpoint for applications: discovery advertises no
// end_session_endpoint. So the logout ends the session here only, and
// revokes the grant at https://oauth2.googleapis.com/revoke (POST, the
// token in the form). Revoking one token revokes the grant, the other
// tokens with it, and a second request for a token already revoked gets
// 400: so only the refresh token is sent when there is one, else the
// access token (RevokeRefreshOnly false, RevokeEndsGrant). The grant is
// the application's, not the session's: a logout here also ends the
// refresh tokens of the user's other sessions of the application. The
// user lands with ?logout_notice=local-only: the Google account stays
// signed in in the browser, and the landing page should say so (the
// example application does). Sending the user to Google's own sign-out
// page would sign them out of every Google service, which is not the
// application's to do.
//
// Google sends no back-channel or front-channel logout. It sends "iss" on
// the authorization response (observed; inferred, as its discovery does
// not advertise authorization_response_iss_parameter_supported), which
// the middleware checks when present. Google's ID token documentation
// says iss may also be "accounts.google.com" without the scheme; the
// authorization code flow gives the https form, the one configured here.
//
// Documentation: https://developers.google.com/identity/openid-connect/openid-connect
// Documentation: https://developers.google.com/identity/protocols/oauth2/web-server#offline
// Documentation: https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
func Google(clientID, clientSecret string) Provider {
	method := AuthPost
	if clientSecret == "" {
		method = AuthNone
	}
	return Provider{
		Name:            "google",
		Issuer:          "https://accounts.google.com",
		ClientID:        clientID,
		ClientSecret:    clientSecret,
		AuthMethod:      method,
		AuthParams:      url.Values{"access_type": {"offline"}},
		Logout:          RPInitiated{},
		RevokeEndsGrant: true,
		// hd restricts the account chooser to a Google Workspace domain
		// (a hint only: check the ID token's hd claim for a rule).
		LoginParams: []string{"hd"},
	}
}
