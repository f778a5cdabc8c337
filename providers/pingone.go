package providers

import (
	"errors"
	"strings"
)

// PingOne regions: the top-level domain of the region's auth host,
// https://auth.pingone.{region}, as PingOne's domain reference lists them.
const (
	// PingOneNorthAmerica is the default, auth.pingone.com.
	PingOneNorthAmerica = "com"
	// PingOneEU is auth.pingone.eu.
	PingOneEU = "eu"
	// PingOneCanada is auth.pingone.ca.
	PingOneCanada = "ca"
	// PingOneAsiaPacific is auth.pingone.asia, a legacy region kept for
	// its existing customers.
	PingOneAsiaPacific = "asia"
	// PingOneAustralia is auth.pingone.com.au.
	PingOneAustralia = "com.au"
	// PingOneSingapore is auth.pingone.sg.
	PingOneSingapore = "sg"
)

// PingOneConfig configures [PingOne].
type PingOneConfig struct {
	// Region is the environment's region; default [PingOneNorthAmerica].
	Region string
	// EnvironmentID is the environment's id, required unless
	// CustomDomain is set.
	EnvironmentID string
	// CustomDomain is the environment's custom domain, such as
	// "login.example.com"; the issuer is then https://{CustomDomain}/as,
	// with no environment id.
	CustomDomain string
	// ClientID is the application's client id.
	ClientID string
	// ClientSecret is the application's secret; empty for an
	// application with the "None" token endpoint authentication method,
	// which relies on PKCE.
	ClientSecret string
}

// PingOne returns a provider named "pingone" for a PingOne environment,
// configured through discovery at {issuer}/.well-known/openid-configuration.
// The issuer is https://auth.pingone.{region}/{EnvironmentID}/as, or
// https://{CustomDomain}/as; the endpoints are under it: /authorize,
// /token, /jwks, /userinfo, /signoff, /revoke.
//
// A client with a secret sends it with HTTP Basic ("Client Secret Basic",
// the application's default token endpoint authentication method; for
// "Client Secret Post" set AuthMethod to [AuthPost]).
//
// Logout is PingOne's /signoff, RP-Initiated Logout by GET with
// id_token_hint, post_logout_redirect_uri and state. PingOne checks the
// hint's issuer against the host the request goes to (the region, or the
// custom domain), and accepts an expired hint (ExpiredHintAccepted, so
// no refresh before the logout). post_logout_redirect_uri must be among
// the application's "Signoff URLs": register AppURL + "/auth/logged-out".
// client_id is not sent. /signoff ends the PingOne session only; its
// /idpSignoff, which also signs out of an external identity provider, is
// not used.
//
// PingOne's documentation describes no back-channel or front-channel
// logout to OpenID Connect applications (inferred: none), and no RFC
// 9207 "iss" (the middleware follows discovery).
//
// Documentation: https://developer.pingidentity.com/pingone-api/auth/openid-connect-oauth-2/signoff.html
// Documentation: https://docs.pingidentity.com/pingone/developer_tools/p1_ip_address_domain_reference.html
func PingOne(c PingOneConfig) Provider {
	region := c.Region
	if region == "" {
		region = PingOneNorthAmerica
	}
	issuer := "https://auth.pingone." + region + "/" + c.EnvironmentID + "/as"
	if c.CustomDomain != "" {
		issuer = "https://" + strings.TrimSuffix(strings.TrimPrefix(c.CustomDomain, "https://"), "/") + "/as"
	}
	p := OIDC("pingone", issuer, c.ClientID, c.ClientSecret)
	p.Logout = RPInitiated{}
	p.ExpiredHintAccepted = true
	switch {
	case region != PingOneNorthAmerica && region != PingOneEU && region != PingOneCanada &&
		region != PingOneAsiaPacific && region != PingOneAustralia && region != PingOneSingapore:
		p.err = errors.New("unknown PingOne region " + `"` + region + `"`)
	case c.CustomDomain == "" && c.EnvironmentID == "":
		p.err = errors.New("PingOne needs an EnvironmentID or a CustomDomain")
	}
	return p
}
