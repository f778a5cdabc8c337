package providers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// CognitoConfig configures [Cognito].
type CognitoConfig struct {
	// UserPoolID is the user pool's id, "{region}_{id}" such as
	// "eu-west-1_AbCdEfGhI": the region is read from it.
	UserPoolID string
	// Domain is the user pool's domain: a prefix ("myapp", for
	// myapp.auth.{region}.amazoncognito.com), or a custom domain
	// ("auth.example.com"), or the full host. The OAuth 2.0 endpoints
	// and the logout are on it.
	Domain string
	// ClientID is the app client's id.
	ClientID string
	// ClientSecret is the app client's secret; empty for an app client
	// without one, which is public and relies on PKCE.
	ClientSecret string
}

// Cognito returns a provider named "cognito" for an Amazon Cognito user
// pool, configured through discovery at
// https://cognito-idp.{region}.amazonaws.com/{UserPoolID}/.well-known/openid-configuration;
// that URL without the suffix is the issuer. Discovery gives the
// authorize, token and userinfo endpoints on the pool's domain
// (/oauth2/authorize, /oauth2/token, /oauth2/userInfo) and the keys on
// cognito-idp.
//
// A client with a secret sends it with HTTP Basic, which Cognito
// requires of app clients with a secret. The scopes ("openid profile
// email" by default) must be allowed in the app client.
//
// Logout is [CognitoLogout], Cognito's own: discovery advertises no
// end_session_endpoint, and its /logout is not RP-Initiated Logout. It
// is GET https://{domain}/logout?client_id=…&logout_uri=…, no
// id_token_hint and no state (Cognito returns one only on the
// redirect_uri form of the request, which starts a new login). Cognito
// redirects only to a logout_uri among the app client's "Allowed sign-out
// URLs", matched exactly: register AppURL + "/auth/logged-out". A request
// without a registered logout_uri ends on an error page of Cognito's.
//
// The /logout ends the managed login session (its cookie) only: tokens
// already issued stay valid. So at logout the refresh token is revoked
// at https://{domain}/oauth2/revoke, which revokes the access and ID
// tokens issued with it; Cognito's endpoint takes refresh tokens only
// (RevokeRefreshOnly), and needs token revocation enabled on the app
// client (the default for app clients created since 2021). The URL is
// set in Endpoints.RevocationURL (inferred: discovery may not list it).
//
// Cognito sends no back-channel or front-channel logout, and no RFC 9207
// "iss" on the callback (inferred: none in its documentation). With a
// federated identity provider, /logout does not end the session at that
// provider, except SAML providers with single logout configured.
//
// Documentation: https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html
// Documentation: https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
// Documentation: https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html
// Documentation: https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain.html
func Cognito(c CognitoConfig) Provider {
	region, _, ok := strings.Cut(c.UserPoolID, "_")
	host := cognitoHost(c.Domain, region)
	p := Provider{
		Name:         "cognito",
		Issuer:       "https://cognito-idp." + region + ".amazonaws.com/" + c.UserPoolID,
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoints:    Endpoints{RevocationURL: "https://" + host + "/oauth2/revoke"},
		Logout:       CognitoLogout{Domain: host},
		// /oauth2/revoke takes refresh tokens only.
		RevokeRefreshOnly: true,
	}
	switch {
	case !ok || region == "":
		p.err = errors.New(`Cognito UserPoolID must be "{region}_{id}"`)
	case host == "":
		p.err = errors.New("Cognito needs the user pool's Domain")
	}
	return p
}

// cognitoHost returns the host of a user pool domain given as a prefix,
// a host or a URL.
func cognitoHost(domain, region string) string {
	domain = strings.TrimSuffix(strings.TrimPrefix(domain, "https://"), "/")
	if domain == "" || strings.Contains(domain, ".") {
		return domain
	}
	return domain + ".auth." + region + ".amazoncognito.com"
}

// CognitoLogout ends a session at Amazon Cognito's managed login: a GET
// to https://{Domain}/logout with client_id and logout_uri.
//
// Documentation: https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html
type CognitoLogout struct {
	// Domain is the user pool domain's host, such as
	// "myapp.auth.eu-west-1.amazoncognito.com" or "auth.example.com".
	Domain string
}

// Validate reports a missing Domain. [Provider.Validate] calls it.
func (l CognitoLogout) Validate() error {
	if l.Domain == "" {
		return errors.New("CognitoLogout needs the user pool's Domain")
	}
	return nil
}

// EndSession implements [Logout].
func (l CognitoLogout) EndSession(_ context.Context, req *LogoutRequest) (Action, error) {
	q := url.Values{"client_id": {req.ClientID}}
	if req.ReturnURL != "" {
		q.Set("logout_uri", req.ReturnURL)
	}
	return Action{Method: http.MethodGet, URL: WithQuery("https://"+l.Domain+"/logout", q)}, nil
}
