package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/endsession/endsession/internal/answer"
	"golang.org/x/oauth2"
)

// AuthMethod is how the application authenticates to the token endpoint.
type AuthMethod string

// Client authentication methods (OpenID Connect Core §9).
const (
	// AuthBasic sends the client id and secret with HTTP Basic
	// authentication ("client_secret_basic"). It is the default for
	// clients with a secret.
	AuthBasic AuthMethod = "client_secret_basic"
	// AuthPost sends them in the form body ("client_secret_post").
	AuthPost AuthMethod = "client_secret_post"
	// AuthNone sends only the client id, for public clients, which rely
	// on PKCE. It is the default for clients without a secret.
	AuthNone AuthMethod = "none"
	// AuthPrivateKeyJWT sends a short-lived assertion signed with the
	// application's key ("private_key_jwt", RFC 7523), [Provider.ClientKey].
	// It is the default for clients with a ClientKey.
	AuthPrivateKeyJWT AuthMethod = "private_key_jwt"
)

// Provider describes one OpenID Connect provider and the application's
// client at it. Zero values mean the documented defaults.
type Provider struct {
	// Name identifies the provider in the application: the login route
	// takes it as ?provider=NAME and the session remembers it so logout
	// goes to the same provider. Required when there are several.
	Name string

	// Issuer is the provider's issuer identifier, compared byte for byte
	// with discovery, ID tokens and the callback's "iss" parameter: it is
	// never normalized (a trailing slash or an explicit :443 matters).
	// Empty means the provider has no OpenID Connect login through the
	// middleware: the application creates the session itself (for example
	// after a device flow) and only logout goes to the provider.
	Issuer string
	// DiscoveryURL overrides where the discovery document is fetched;
	// default Issuer + "/.well-known/openid-configuration".
	DiscoveryURL string
	// Endpoints, when AuthURL and TokenURL are set, configure the provider
	// explicitly and turn discovery off. JWKSURL is then required.
	// Otherwise each endpoint set here wins over the discovered one (an
	// override of a preset's token or keys URL, say).
	Endpoints Endpoints

	// ClientID identifies the application at the provider.
	ClientID string
	// ClientSecret is the application's secret at the provider. An empty
	// ClientSecret makes a public client.
	ClientSecret string
	// AuthMethod is the client authentication at the token endpoint (and
	// at the pushed authorization endpoint); default AuthPrivateKeyJWT
	// with a ClientKey, else AuthBasic with a secret, AuthNone without. At
	// the revocation endpoint the same method is used unless the
	// provider's discovery lists others there
	// (revocation_endpoint_auth_methods_supported): then one of those the
	// client has credentials for.
	AuthMethod AuthMethod
	// ClientKey is the application's signing key for AuthPrivateKeyJWT;
	// nil for a client that authenticates otherwise. It is checked by
	// Validate (the key's type matches its algorithm).
	ClientKey *ClientKey
	// PushedAuthorization sends each login's authorization request to the
	// provider's pushed authorization request endpoint first (PAR,
	// RFC 9126), when discovery advertises one (or
	// Endpoints.PushedAuthURL is set): the browser then only carries
	// client_id and request_uri. A provider whose discovery says
	// require_pushed_authorization_requests gets PAR without it.
	PushedAuthorization bool

	// Scopes requested at login; default "openid", "profile", "email".
	// "openid" is added when missing.
	Scopes []string
	// AuthParams are extra parameters of the authorization request.
	AuthParams url.Values
	// LoginParams names the parameters of the provider's own that a
	// login request (/auth/login?name=value) may pass on to its
	// authorization request, besides the standard ones the middleware
	// always forwards (prompt, login_hint, max_age, acr_values,
	// ui_locales, display). Each value is checked: printable, at most 512
	// bytes. The parameters the middleware sets itself (client_id,
	// redirect_uri, state, nonce, scope, PKCE...) cannot be named.
	LoginParams []string
	// TokenParams are extra parameters of the token request body.
	TokenParams url.Values
	// UserInfo fetches the userinfo endpoint at login and merges its
	// claims over the ID token's (the subject must match).
	UserInfo bool

	// Logout is how the provider's session ends after the local one. Nil
	// means [RPInitiated] with its defaults: RP-Initiated Logout at the
	// discovered end_session_endpoint, or a local logout with a warning
	// when the provider has none.
	Logout Logout
	// ExpiredHintAccepted says the provider documents that its logout
	// accepts an expired ID token as id_token_hint. It is the switch for
	// "refresh for the hint": when false (the default, as RP-Initiated
	// Logout only says a provider SHOULD accept one), a logout whose
	// stored ID token has expired first uses the refresh token, if any,
	// for a fresh ID token to send; when true, the stored one is sent as
	// it is and no token request is made.
	ExpiredHintAccepted bool
	// RevokeRefreshOnly says the provider's revocation endpoint takes
	// refresh tokens only: at logout the access token is not sent there.
	// By default both are revoked (RFC 7009), the refresh token first.
	RevokeRefreshOnly bool
	// RevokeEndsGrant says revoking any one token at the provider's
	// revocation endpoint ends the whole grant, the other tokens with it,
	// and that a token already revoked is refused: at logout only the
	// refresh token is sent when there is one, else the access token.
	RevokeEndsGrant bool
	// FrontchannelSIDOnly says the provider's front-channel logout
	// request carries sid without iss, as Microsoft Entra ID's does,
	// against OpenID Connect Front-Channel Logout 1.0. The front-channel
	// route then takes a request with sid alone for this provider, when
	// it is the only configured provider that says so; one with iss is
	// checked as always.
	FrontchannelSIDOnly bool
	// MultiTenant, for a provider whose issuer is a template with
	// "{tenantid}" (Microsoft Entra ID's "organizations" and "common"
	// authorities), accepts ID tokens of several tenants: their iss must
	// be the template with their own tenant claim in place of
	// "{tenantid}", and the tenant must be accepted. Nil: the issuer is
	// compared exactly, as always.
	MultiTenant *MultiTenant

	// err is a preset's configuration error, reported by Validate.
	err error
}

// MultiTenant says which tenants a provider with a template issuer
// accepts; see [Provider.MultiTenant]. Sessions record the template as
// their Issuer; the tenant is the ID token's claim (session.Data.Claims).
// Only the middleware checks it: [Provider.Resolve]'s verifier compares
// the template exactly, and so refuses every token.
type MultiTenant struct {
	// Claim names the ID token claim with the tenant id; default "tid".
	Claim string
	// Tenants are the accepted tenant ids.
	Tenants []string
	// AnyTenant accepts every tenant: users of any organization can sign
	// in, and the application decides what they may do from the tenant
	// claim. Without it, Tenants must list at least one tenant.
	AnyTenant bool
}

// Endpoints are a provider's URLs, given explicitly or read from discovery.
type Endpoints struct {
	// AuthURL is the authorization endpoint.
	AuthURL string
	// TokenURL is the token endpoint.
	TokenURL string
	// UserInfoURL is the userinfo endpoint, or empty.
	UserInfoURL string
	// JWKSURL is where the provider publishes its signing keys.
	JWKSURL string
	// EndSessionURL is the RP-Initiated Logout endpoint, or empty when
	// the provider has none.
	EndSessionURL string
	// RevocationURL is the RFC 7009 revocation endpoint.
	RevocationURL string
	// PushedAuthURL is the pushed authorization request endpoint
	// (RFC 9126), or empty.
	PushedAuthURL string
	// RequirePushed is true when the provider takes authorization
	// requests only through PushedAuthURL.
	RequirePushed bool
	// TokenAuthMethods are the client authentication methods the token
	// endpoint supports, as discovery lists them; empty when unknown.
	TokenAuthMethods []string
	// RevocationAuthMethods are those of the revocation endpoint; empty
	// when unknown, which means the token endpoint's.
	RevocationAuthMethods []string
	// IssParameter is true when the provider always sends "iss" on the
	// authorization response (RFC 9207): its absence is then an error.
	IssParameter bool
	// SigningAlgs are the accepted ID token algorithms; default RS256.
	SigningAlgs []string
}

// HasLogin reports whether users log in through this provider's OpenID
// Connect flow.
func (p *Provider) HasLogin() bool { return p.Issuer != "" }

func (p *Provider) explicit() bool { return p.Endpoints.AuthURL != "" && p.Endpoints.TokenURL != "" }

// Validate checks the provider's configuration without any network call.
func (p *Provider) Validate() error {
	if p.Name == "" {
		return errors.New("providers: a provider needs a Name")
	}
	if p.err != nil {
		return fmt.Errorf("providers: %s: %w", p.Name, p.err)
	}
	if v, ok := p.Logout.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("providers: %s: %w", p.Name, err)
		}
	}
	for _, name := range p.LoginParams {
		if reservedAuthParam(name) {
			return fmt.Errorf("providers: %s: LoginParams cannot name %q, which the middleware sets itself", p.Name, name)
		}
	}
	if !p.HasLogin() {
		if p.Logout == nil {
			return fmt.Errorf("providers: %s: a provider without Issuer needs a Logout", p.Name)
		}
		return nil
	}
	if p.ClientID == "" {
		return fmt.Errorf("providers: %s: ClientID is required", p.Name)
	}
	if err := absoluteURL(p.Issuer); err != nil {
		return fmt.Errorf("providers: %s: Issuer: %w", p.Name, err)
	}
	if mt := p.MultiTenant; mt != nil {
		switch {
		case strings.Count(p.Issuer, "{tenantid}") != 1:
			return fmt.Errorf("providers: %s: MultiTenant needs an Issuer template with {tenantid} once", p.Name)
		case len(mt.Tenants) == 0 && !mt.AnyTenant:
			return fmt.Errorf("providers: %s: MultiTenant accepts no tenant: list them in Tenants, or set AnyTenant", p.Name)
		}
	} else if strings.Contains(p.Issuer, "{tenantid}") {
		return fmt.Errorf("providers: %s: an Issuer template with {tenantid} needs MultiTenant", p.Name)
	}
	switch p.authMethod() {
	case AuthBasic, AuthPost:
		if p.ClientSecret == "" {
			return fmt.Errorf("providers: %s: %s needs a ClientSecret", p.Name, p.authMethod())
		}
	case AuthPrivateKeyJWT:
		if p.ClientKey == nil {
			return fmt.Errorf("providers: %s: private_key_jwt needs a ClientKey", p.Name)
		}
	case AuthNone:
	default:
		return fmt.Errorf("providers: %s: unknown AuthMethod %q", p.Name, p.AuthMethod)
	}
	if p.ClientKey != nil {
		if _, err := p.ClientKey.algorithm(); err != nil {
			return fmt.Errorf("providers: %s: %w", p.Name, err)
		}
	}
	if u := p.Endpoints.PushedAuthURL; u != "" {
		if err := absoluteURL(u); err != nil {
			return fmt.Errorf("providers: %s: endpoint: %w", p.Name, err)
		}
	}
	if p.explicit() {
		if p.Endpoints.JWKSURL == "" {
			return fmt.Errorf("providers: %s: explicit Endpoints need a JWKSURL to verify ID tokens", p.Name)
		}
		for _, u := range []string{p.Endpoints.AuthURL, p.Endpoints.TokenURL, p.Endpoints.JWKSURL} {
			if err := absoluteURL(u); err != nil {
				return fmt.Errorf("providers: %s: endpoint: %w", p.Name, err)
			}
		}
	} else {
		for _, u := range []string{p.Endpoints.AuthURL, p.Endpoints.TokenURL, p.Endpoints.JWKSURL} {
			if u == "" {
				continue
			}
			if err := absoluteURL(u); err != nil {
				return fmt.Errorf("providers: %s: endpoint: %w", p.Name, err)
			}
		}
	}
	return nil
}

// reservedAuthParam reports the authorization request parameters that
// the middleware sets itself, or that would replace the request
// (RFC 9101, RFC 9126), or that are the standard ones it checks itself.
func reservedAuthParam(name string) bool {
	switch name {
	case "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method", "request", "request_uri", "claims", "registration",
		"prompt", "login_hint", "max_age", "acr_values", "ui_locales", "display", "return_to", "provider":
		return true
	}
	return name == ""
}

func absoluteURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// TokenAuthMethod returns the client authentication at the token
// endpoint: AuthMethod, or its default.
func (p *Provider) TokenAuthMethod() AuthMethod { return p.authMethod() }

func (p *Provider) authMethod() AuthMethod {
	switch {
	case p.AuthMethod != "":
		return p.AuthMethod
	case p.ClientKey != nil:
		return AuthPrivateKeyJWT
	case p.ClientSecret == "":
		return AuthNone
	default:
		return AuthBasic
	}
}

// Resolved is a provider ready for login: its endpoints, the OAuth 2.0
// client configuration and the ID token verifier.
type Resolved struct {
	// Endpoints are the provider's endpoints, configured or discovered.
	Endpoints Endpoints
	// OAuth2 is the client configuration for the authorize and token
	// endpoints.
	OAuth2 *oauth2.Config
	// Verifier checks ID tokens: signature, issuer, audience, expiry.
	Verifier *oidc.IDTokenVerifier
	// KeySet holds the provider's signing keys (from JWKSURL), shared with
	// Verifier; logout tokens are checked against it too. Resolve gives
	// go-oidc's RemoteKeySet; the middleware puts its own, rate-limited
	// one in its place.
	KeySet oidc.KeySet
	// UserInfo is go-oidc's view of the provider's userinfo endpoint; nil
	// when the provider has none. The middleware fetches userinfo itself,
	// within a size limit and with a summary of a failure in place of the
	// answer's body; UserInfo tells it whether there is an endpoint.
	UserInfo *oidc.Provider
}

// Resolve reads the provider's discovery document (unless its endpoints
// are explicit) and builds what login needs. The HTTP client is taken from
// ctx as with [oidc.ClientContext]; ctx must outlive the returned value,
// since the key set fetches keys with it. redirectURL is the application's
// callback URL.
func (p *Provider) Resolve(ctx context.Context, redirectURL string) (*Resolved, error) {
	e := p.Endpoints
	if !p.explicit() {
		var err error
		e, err = p.Discover(ctx)
		if err != nil {
			return nil, err
		}
	}
	if len(e.SigningAlgs) == 0 {
		e.SigningAlgs = []string{oidc.RS256}
	}
	cfg := &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		RedirectURL:  redirectURL,
		Scopes:       p.scopes(),
		Endpoint:     oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
	}
	switch p.authMethod() {
	case AuthBasic:
	case AuthPrivateKeyJWT:
		// x/oauth2 sends the client_id; the middleware adds the assertion
		// to each token request.
		cfg.ClientSecret = ""
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	default:
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	op := (&oidc.ProviderConfig{
		IssuerURL:   p.Issuer,
		AuthURL:     e.AuthURL,
		TokenURL:    e.TokenURL,
		UserInfoURL: e.UserInfoURL,
		JWKSURL:     e.JWKSURL,
		Algorithms:  e.SigningAlgs,
	}).NewProvider(ctx)
	keys := oidc.NewRemoteKeySet(ctx, e.JWKSURL)
	r := &Resolved{
		Endpoints: e,
		OAuth2:    cfg,
		Verifier:  oidc.NewVerifier(p.Issuer, keys, &oidc.Config{ClientID: p.ClientID, SupportedSigningAlgs: e.SigningAlgs}),
		KeySet:    keys,
	}
	if e.UserInfoURL != "" {
		r.UserInfo = op
	}
	return r, nil
}

func (p *Provider) scopes() []string {
	scopes := p.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	for _, s := range scopes {
		if s == oidc.ScopeOpenID {
			return scopes
		}
	}
	return append([]string{oidc.ScopeOpenID}, scopes...)
}

// discoveryDoc is the part of the discovery document the middleware uses.
type discoveryDoc struct {
	Issuer         string   `json:"issuer"`
	AuthURL        string   `json:"authorization_endpoint"`
	TokenURL       string   `json:"token_endpoint"`
	UserInfoURL    string   `json:"userinfo_endpoint"`
	JWKSURL        string   `json:"jwks_uri"`
	EndSessionURL  string   `json:"end_session_endpoint"`
	RevocationURL  string   `json:"revocation_endpoint"`
	IssParameter   bool     `json:"authorization_response_iss_parameter_supported"`
	SigningAlgs    []string `json:"id_token_signing_alg_values_supported"`
	PushedAuthURL  string   `json:"pushed_authorization_request_endpoint"`
	RequirePushed  bool     `json:"require_pushed_authorization_requests"`
	TokenAuth      []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuth []string `json:"revocation_endpoint_auth_methods_supported"`
}

// Discover fetches and checks the provider's discovery document: its
// issuer must equal Issuer exactly. Endpoints configured explicitly win
// over discovered ones. The HTTP client is taken from ctx as with
// [oidc.ClientContext].
func (p *Provider) Discover(ctx context.Context) (Endpoints, error) {
	where := p.DiscoveryURL
	if where == "" {
		where = strings.TrimSuffix(p.Issuer, "/") + "/.well-known/openid-configuration"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return Endpoints{}, fmt.Errorf("providers: %s: discovery: %w", p.Name, err)
	}
	req.Header.Set("Accept", "application/json")
	client := http.DefaultClient
	if c, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok && c != nil {
		client = c
	}
	resp, err := client.Do(req)
	if err != nil {
		return Endpoints{}, fmt.Errorf("providers: %s: discovery: %w", p.Name, err)
	}
	defer resp.Body.Close()
	body, err := answer.Read(resp, answer.MaxSize)
	if err != nil {
		return Endpoints{}, fmt.Errorf("providers: %s: %w", p.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Endpoints{}, fmt.Errorf("providers: %s: %w", p.Name, answer.Failed("discovery", resp, body))
	}
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return Endpoints{}, fmt.Errorf("providers: %s: discovery: not a JSON discovery document", p.Name)
	}
	if doc.Issuer != p.Issuer {
		// The issuer found is the provider's text: quoted only when it is
		// a short printable identifier.
		return Endpoints{}, fmt.Errorf("providers: %s: %w: %s, not the configured %q", p.Name, ErrIssuerMismatch, answer.Identifier(doc.Issuer), p.Issuer)
	}
	e := Endpoints{
		AuthURL: doc.AuthURL, TokenURL: doc.TokenURL, UserInfoURL: doc.UserInfoURL, JWKSURL: doc.JWKSURL,
		EndSessionURL: doc.EndSessionURL, RevocationURL: doc.RevocationURL,
		IssParameter: doc.IssParameter, SigningAlgs: doc.SigningAlgs,
		PushedAuthURL: doc.PushedAuthURL, RequirePushed: doc.RequirePushed,
		TokenAuthMethods: doc.TokenAuth, RevocationAuthMethods: doc.RevocationAuth,
	}
	// Explicitly configured endpoints win over discovery.
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&e.AuthURL, p.Endpoints.AuthURL}, {&e.TokenURL, p.Endpoints.TokenURL}, {&e.JWKSURL, p.Endpoints.JWKSURL},
		{&e.UserInfoURL, p.Endpoints.UserInfoURL}, {&e.EndSessionURL, p.Endpoints.EndSessionURL},
		{&e.RevocationURL, p.Endpoints.RevocationURL}, {&e.PushedAuthURL, p.Endpoints.PushedAuthURL},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	if e.AuthURL == "" || e.TokenURL == "" || e.JWKSURL == "" {
		return Endpoints{}, fmt.Errorf("providers: %s: discovery lacks an authorization, token or jwks endpoint", p.Name)
	}
	return e, nil
}

// ErrIssuerMismatch is wrapped by the error of a discovery document (and,
// in the middleware, of an ID token from the token endpoint) that names
// another issuer than the configured Issuer: the configuration is wrong
// (often by a trailing slash or a realm), or the document is not the
// provider's. Either way no login can succeed until it is fixed.
var ErrIssuerMismatch = errors.New("the discovery document names another issuer")
