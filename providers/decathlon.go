package providers

import (
	"net/http"
	"strings"
)

// Decathlon's hosts. The endpoints live on api-global while the tokens'
// issuer is on api-eu (seen in Decathlon's own sample ID token).
const (
	decathlonBase              = "https://api-global.decathlon.net/connect"
	decathlonIssuer            = "https://api-eu.decathlon.net/connect"
	decathlonUserInfo          = "https://api-eu.decathlon.net/connect/oauth/userinfo"
	decathlonPreprodBase       = "https://api-global.preprod.decathlon.net/connect"
	decathlonPreprodIssuer     = "https://api-eu.preprod.decathlon.net/connect"
	decathlonPreprodUserInfo   = "https://api-eu.preprod.decathlon.net/connect/oauth/userinfo"
	decathlonPreprodLogoutBase = "https://api-eu.preprod.decathlon.net/connect"
)

// DecathlonConfig configures a Decathlon Login (Decathlon Connect)
// provider. Zero values mean the documented defaults; usually only
// ClientID, ClientSecret and Scopes are set.
type DecathlonConfig struct {
	// Name is the provider's name in the application; default
	// "decathlon".
	Name string
	// ClientID is the application's client id.
	ClientID string
	// ClientSecret is the application's secret, sent in the token
	// request's body (client_secret_post); without one the client is
	// public and relies on PKCE.
	ClientSecret string
	// Scopes requested at login; default "openid", "profile", "email".
	Scopes []string
	// Preprod selects Decathlon's pre-production hosts.
	Preprod bool
	// LogoutPOST sends the logout as an auto-submitted POST form instead
	// of a GET redirect; Decathlon documents both.
	LogoutPOST bool
	// UserInfo fetches the userinfo endpoint at login and merges its
	// claims.
	UserInfo bool

	// BaseURL replaces the endpoints' base, default
	// "https://api-global.decathlon.net/connect" (preprod
	// "https://api-global.preprod.decathlon.net/connect"): authorize is
	// BaseURL + "/oauth/authorize", token BaseURL + "/oauth/token",
	// logout BaseURL + "/openid/logout".
	BaseURL string
	// AuthURL replaces the authorize endpoint, default BaseURL +
	// "/oauth/authorize" (the endpoint public integrations use;
	// Decathlon's pages name the host).
	AuthURL string
	// TokenURL replaces the token endpoint, default BaseURL +
	// "/oauth/token".
	TokenURL string
	// Issuer is the tokens' issuer, compared exactly; default
	// "https://api-eu.decathlon.net/connect" (preprod
	// "https://api-eu.preprod.decathlon.net/connect"). The production
	// value is inferred from a production access token shown publicly;
	// the preprod one is in Decathlon's documentation.
	Issuer string
	// JWKSURL is where the ID token keys are read. Decathlon publishes no
	// discovery document and documents no key URL: the default, BaseURL +
	// "/.well-known/jwks.json", is inferred. Ask Decathlon for the right
	// one when registering the application.
	JWKSURL string
	// UserInfoURL is the userinfo endpoint; default
	// "https://api-eu.decathlon.net/connect/oauth/userinfo" (seen in
	// public integration code; preprod inferred likewise).
	UserInfoURL string
	// LogoutURL replaces the logout endpoint, default
	// "https://api-global.decathlon.net/connect/openid/logout" (preprod:
	// "https://api-eu.preprod.decathlon.net/connect/openid/logout", as in
	// Decathlon's example).
	LogoutURL string
}

// Decathlon returns a Decathlon Login provider: authorization code flow
// with PKCE at static endpoints (Decathlon publishes no discovery
// document). Its ID tokens carry "aud" as an array along with "azp",
// which the middleware checks against the client id.
//
// Logout goes to /connect/openid/logout with id_token_hint (required; an
// expired ID token is accepted, and the stored one is sent as it is),
// post_logout_redirect_uri (the application's landing URL, which must be
// registered with Decathlon for the client) and state, which Decathlon
// returns on the redirect and the middleware's landing route checks.
// Decathlon also invalidates the refresh token then. A session without an
// ID token ends locally. Since Decathlon accepts an expired hint, the
// provider has ExpiredHintAccepted set: the middleware makes no refresh
// for a fresh ID token before the logout.
//
// Documentation: https://login-doc.decathlon.com/logout.html
func Decathlon(cfg DecathlonConfig) Provider {
	base, issuer, userInfo, logoutBase := decathlonBase, decathlonIssuer, decathlonUserInfo, decathlonBase
	if cfg.Preprod {
		base, issuer, userInfo, logoutBase = decathlonPreprodBase, decathlonPreprodIssuer, decathlonPreprodUserInfo, decathlonPreprodLogoutBase
	}
	if cfg.BaseURL != "" {
		base = strings.TrimSuffix(cfg.BaseURL, "/")
		logoutBase = base
	}
	logout := RPInitiated{
		URL:            or(cfg.LogoutURL, logoutBase+"/openid/logout"),
		RequireIDToken: true,
	}
	if cfg.LogoutPOST {
		logout.Method = http.MethodPost
	}
	method := AuthPost
	if cfg.ClientSecret == "" {
		method = AuthNone
	}
	return Provider{
		Name:   or(cfg.Name, "decathlon"),
		Issuer: or(cfg.Issuer, issuer),
		Endpoints: Endpoints{
			AuthURL:     or(cfg.AuthURL, base+"/oauth/authorize"),
			TokenURL:    or(cfg.TokenURL, base+"/oauth/token"),
			UserInfoURL: or(cfg.UserInfoURL, userInfo),
			JWKSURL:     or(cfg.JWKSURL, base+"/.well-known/jwks.json"),
		},
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		AuthMethod:   method,
		Scopes:       cfg.Scopes,
		UserInfo:     cfg.UserInfo,
		Logout:       logout,
		// "An expired ID token is accepted" (Decathlon's logout page).
		ExpiredHintAccepted: true,
	}
}
