package providers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// FranceTravailRealm is a France Travail authentication realm ("royaume"):
// which population of users logs in.
type FranceTravailRealm string

// The realms whose users log in with OpenID Connect. The application's own
// server-to-server access (realm /partenaire) is [FranceTravailPartenaire].
const (
	// FranceTravailIndividu: job seekers and candidates.
	FranceTravailIndividu FranceTravailRealm = "/individu"
	// FranceTravailEmployeur: employers and recruiters. Its endpoint
	// pages (authorization code, PKCE) give "realm=/employeur" in every
	// request example, as every public integration sends it, so
	// "/employeur" is what goes on the wire.
	FranceTravailEmployeur FranceTravailRealm = "/employeur"
	// FranceTravailEntreprise is the employers' realm under the name
	// France Travail's "Utiliser les API" overview table gives it
	// ("/entreprise"). It is the same realm as [FranceTravailEmployeur]:
	// the preset accepts it and sends "/employeur", the value of the
	// endpoint pages and of the requests France Travail's servers answer.
	FranceTravailEntreprise FranceTravailRealm = "/entreprise"
	// FranceTravailAgent: France Travail's own agents. Their realm is in
	// the authorize path, not in its query.
	FranceTravailAgent FranceTravailRealm = "/agent"
)

// France Travail's hosts. The recette (test) hosts come from public
// integration code, not from France Travail's documentation; the
// employeur one is inferred from its Pôle emploi era name.
const (
	franceTravailIndividuHost         = "https://authentification-candidat.francetravail.fr"
	franceTravailEmployeurHost        = "https://entreprise.francetravail.fr"
	franceTravailAgentHost            = "https://proxyproconnect.francetravail.net"
	franceTravailAPIHost              = "https://api.francetravail.io"
	franceTravailIndividuRecetteHost  = "https://authentification-candidat-r.ft-qvr.fr"
	franceTravailEmployeurRecetteHost = "https://entreprise.ft-qvr.fr"
	franceTravailAgentRecetteHost     = "https://proxyproconnect-r.ft-qvr.net"
	franceTravailAPIRecetteHost       = "https://api.peio.ft-qvr.fr"
)

// FranceTravailConfig configures a France Travail Connect login for one
// realm. Zero values mean the documented defaults; only Realm, ClientID,
// ClientSecret and APIScopes are usually set.
type FranceTravailConfig struct {
	// Realm is the population that logs in. Required.
	Realm FranceTravailRealm
	// Name is the provider's name in the application; default
	// "francetravail-" + the realm ("francetravail-individu"), so several
	// realms can live in one application.
	Name string
	// ClientID is the application's client id on francetravail.io.
	ClientID string
	// ClientSecret is the application's secret. It is sent in the token
	// request's body (client_secret_post), never with HTTP Basic, which
	// France Travail's servers misread. Without a secret the application
	// is public (France Travail's "application publique": authorization
	// code with PKCE): the token request carries client_id and the PKCE
	// verifier, and no secret.
	ClientSecret string
	// APIScopes are the scopes of the APIs the application calls for the
	// user, such as "api_peconnect-individuv1" and "individu". The
	// requested scopes are "application_<ClientID>", these, then "openid
	// profile email".
	APIScopes []string
	// Recette selects France Travail's test hosts instead of the
	// production ones. The test hosts are taken from public integration
	// code (inferred); the agent one is reachable from France Travail's
	// network only.
	Recette bool
	// UserInfo fetches the realm's userinfo endpoint at login and merges
	// its claims; it needs the API's scope in APIScopes
	// ("api_peconnect-individuv1" or "api_peconnect-entreprisev1").
	UserInfo bool

	// BaseURL replaces the realm's authentication host (such as
	// "https://authentification-candidat.francetravail.fr"): the
	// authorize, token, keys and logout URLs are built under it.
	BaseURL string
	// AuthURL replaces the authorize endpoint: BaseURL +
	// "/connexion/oauth2/authorize", or BaseURL +
	// "/connexion/oauth2/agent/authorize" for agents.
	AuthURL string
	// TokenURL replaces the token endpoint. The default is BaseURL +
	// "/connexion/oauth2/access_token?realm=%2F<realm>". For agents
	// France Travail's "Utiliser les API" summary table writes
	// ".../connexion/oauth2/acces_token" (one "s"), but its
	// authorization code, PKCE and client credentials pages all write
	// "access_token", the OpenAM name, so that spelling is the default;
	// set TokenURL to the other should France Travail's server want it.
	// The realm is added to the URL's query when TokenURL has no "realm"
	// parameter: France Travail takes it there, never in the body.
	TokenURL string
	// Issuer is the issuer identifier, compared exactly with the ID
	// tokens and the callback's "iss". France Travail does not document
	// it; the default, inferred from public integration code, is the
	// OpenAM form with an explicit port:
	// "https://authentification-candidat.francetravail.fr:443/connexion/oauth2/realms/root/realms/individu"
	// (the host and realm follow the configuration). The callback's
	// "iss" is France Travail's documented statement of it: when a login
	// fails with "invalid_issuer", the middleware's log names the
	// configured issuer and the one received; set Issuer to the received
	// one (for instance without ":443").
	Issuer string
	// JWKSURL is where the ID token keys are read. Not documented by
	// France Travail; the default, inferred from public integration code,
	// is BaseURL + "/connexion/oauth2/connect/jwk_uri?realm=%2F<realm>".
	JWKSURL string
	// UserInfoURL is the userinfo endpoint. Defaults, from public
	// integration code with the current API host (inferred): individu
	// "https://api.francetravail.io/partenaire/peconnect-individu/v1/userinfo?realm=%2Findividu",
	// employeur ".../partenaire/peconnect-entreprise/v1/userinfo?realm=%2Femployeur",
	// none for agents.
	UserInfoURL string
	// LogoutURL replaces the logout endpoint: BaseURL +
	// "/compte/deconnexion" (GET) for individu and employeur, BaseURL +
	// "/connexion/oauth2/deconnexion" (POST) for agents.
	LogoutURL string
}

// FranceTravail returns a France Travail Connect provider for one realm:
// authorization code flow with PKCE and OpenID Connect, at explicit
// endpoints (no discovery).
//
// On the wire, as France Travail documents it:
//   - the authorize request carries realm=/individu or realm=/employeur
//     as a query parameter; agents authorize at
//     /connexion/oauth2/agent/authorize, without it;
//   - the token request goes to .../connexion/oauth2/access_token?realm=%2F<realm>:
//     the realm is always in the token URL's query, never in the body;
//   - the client secret is in the body (client_secret_post); a public
//     application has none and sends client_id with the PKCE verifier;
//   - the token response echoes the nonce at its top level and the
//     callback carries "iss": the middleware checks both;
//   - logout sends id_token_hint and redirect_uri (not
//     post_logout_redirect_uri), and no state: by GET to
//     .../compte/deconnexion for individu and employeur, by an
//     auto-submitted POST form to .../connexion/oauth2/deconnexion for
//     agents.
//
// France Travail asks applications to delete every piece of personal data
// and every token they got from it at logout; the middleware deletes the
// session first, and the middleware's Config.OnLogout is where the
// application erases its own copies.
//
// Should discovery be wanted instead, France Travail's OpenAM serves it
// with the realm in the path, as in
// https://authentification-candidat.francetravail.fr/connexion/oauth2/realms/root/realms/individu/.well-known/openid-configuration,
// or in the query, .../connexion/oauth2/.well-known/openid-configuration?realm=/agent
// (both seen in public code, not documented): clear Endpoints and set
// DiscoveryURL on the returned provider.
//
// A realm other than those above makes a provider whose Validate (and so
// middleware.New) fails with an error naming it.
//
// Documentation: https://francetravail.io/produits-partages/documentation/utilisation-api-france-travail/authorization-code-flow
// Documentation: https://francetravail.io/produits-partages/documentation/utilisation-api-france-travail/deconnexion-utilisateur
func FranceTravail(cfg FranceTravailConfig) Provider {
	realm := cfg.Realm
	if realm == FranceTravailEntreprise {
		realm = FranceTravailEmployeur
	}
	var host, apiPath string
	switch realm {
	case FranceTravailIndividu:
		host, apiPath = pick(cfg.Recette, franceTravailIndividuRecetteHost, franceTravailIndividuHost), "/partenaire/peconnect-individu/v1/userinfo"
	case FranceTravailEmployeur:
		host, apiPath = pick(cfg.Recette, franceTravailEmployeurRecetteHost, franceTravailEmployeurHost), "/partenaire/peconnect-entreprise/v1/userinfo"
	case FranceTravailAgent:
		host = pick(cfg.Recette, franceTravailAgentRecetteHost, franceTravailAgentHost)
	default:
		return Provider{
			Name: or(cfg.Name, "francetravail"),
			err: fmt.Errorf("unknown France Travail realm %q (want %s, %s, %s or %s)", cfg.Realm,
				FranceTravailIndividu, FranceTravailEmployeur, FranceTravailEntreprise, FranceTravailAgent),
		}
	}
	base := strings.TrimSuffix(or(cfg.BaseURL, host), "/")
	realmQuery := url.Values{"realm": {string(realm)}}.Encode()

	e := Endpoints{
		AuthURL:     or(cfg.AuthURL, base+"/connexion/oauth2/authorize"),
		TokenURL:    withRealm(or(cfg.TokenURL, base+"/connexion/oauth2/access_token"), realm),
		JWKSURL:     or(cfg.JWKSURL, base+"/connexion/oauth2/connect/jwk_uri?"+realmQuery),
		UserInfoURL: cfg.UserInfoURL,
	}
	if e.UserInfoURL == "" && apiPath != "" {
		e.UserInfoURL = pick(cfg.Recette, franceTravailAPIRecetteHost, franceTravailAPIHost) + apiPath + "?" + realmQuery
	}
	logout := RPInitiated{
		URL:            or(cfg.LogoutURL, base+"/compte/deconnexion"),
		RedirectParam:  "redirect_uri",
		OmitState:      true,
		RequireIDToken: true,
	}
	var authParams url.Values
	if realm == FranceTravailAgent {
		e.AuthURL = or(cfg.AuthURL, base+"/connexion/oauth2/agent/authorize")
		logout.URL = or(cfg.LogoutURL, base+"/connexion/oauth2/deconnexion")
		logout.Method = http.MethodPost
	} else {
		authParams = url.Values{"realm": {string(realm)}}
	}

	return Provider{
		Name:         or(cfg.Name, "francetravail-"+strings.TrimPrefix(string(realm), "/")),
		Issuer:       or(cfg.Issuer, openAMIssuer(base, realm)),
		Endpoints:    e,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		AuthMethod:   pick(cfg.ClientSecret == "", AuthNone, AuthPost),
		Scopes:       franceTravailScopes(cfg.ClientID, cfg.APIScopes, "openid", "profile", "email"),
		AuthParams:   authParams,
		UserInfo:     cfg.UserInfo,
		Logout:       logout,
	}
}

// withRealm adds realm to endpoint's query unless it names one already.
func withRealm(endpoint string, realm FranceTravailRealm) string {
	if u, err := url.Parse(endpoint); err == nil && u.Query().Has("realm") {
		return endpoint
	}
	return WithQuery(endpoint, url.Values{"realm": {string(realm)}})
}

// openAMIssuer is the issuer an OpenAM server gives a realm: its origin
// with an explicit port for https, then the realm's path.
func openAMIssuer(base string, realm FranceTravailRealm) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	host := u.Host
	if u.Scheme == "https" && u.Port() == "" {
		host += ":443"
	}
	return u.Scheme + "://" + host + "/connexion/oauth2/realms/root/realms" + string(realm)
}

// franceTravailScopes is application_<client id>, the API scopes, then
// extra, without duplicates.
func franceTravailScopes(clientID string, api []string, extra ...string) []string {
	scopes := []string{"application_" + clientID}
	seen := map[string]bool{scopes[0]: true}
	for _, s := range append(append([]string(nil), api...), extra...) {
		if s != "" && !seen[s] {
			seen[s] = true
			scopes = append(scopes, s)
		}
	}
	return scopes
}

// FranceTravailPartenaireIOTokenURL is the /partenaire token endpoint on
// the francetravail.io host, as the summary table of France Travail's
// "Utiliser les API" page writes it; see [FranceTravailPartenaire].
const FranceTravailPartenaireIOTokenURL = "https://francetravail.io/connexion/oauth2/access_token"

// franceTravailPartenaire is the realm of the application's own access.
const franceTravailPartenaire FranceTravailRealm = "/partenaire"

// FranceTravailPartenaire is the application's own access to France
// Travail's APIs (realm /partenaire): the OAuth 2.0 client credentials
// grant, for server-to-server calls made on no user's behalf.
//
// The token request goes to
// https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire
// with the realm in the URL's query and the credentials in the body; the
// scopes are "application_<ClientID>" and APIScopes.
//
// France Travail documents two hosts for this token endpoint: its
// "Client Credentials Flow" page and its sandbox page give
// entreprise.francetravail.fr with "?realm=%2Fpartenaire", the default
// here because those pages describe the request in full, while the
// summary table of "Utiliser les API" gives
// https://francetravail.io/connexion/oauth2/access_token. To use the
// latter, set TokenURL to [FranceTravailPartenaireIOTokenURL].
//
// Documentation: https://francetravail.io/produits-partages/documentation/utilisation-api-france-travail/client-credentials
type FranceTravailPartenaire struct {
	// ClientID is the application's client id on francetravail.io.
	ClientID string
	// ClientSecret is the application's secret; it goes in the token
	// request's body.
	ClientSecret string
	// APIScopes are the scopes of the APIs called, such as
	// "api_offresdemploiv2" and "o2dsoffre".
	APIScopes []string
	// Recette selects the test host (inferred from public integration
	// code: https://entreprise.ft-qvr.fr).
	Recette bool
	// TokenURL replaces the token endpoint; "realm=/partenaire" is added
	// to its query when it names no realm.
	TokenURL string
	// EarlyRenewal is how long before its expiry a token is replaced;
	// default one minute. France Travail's tokens live about 25 minutes.
	EarlyRenewal time.Duration
	// HTTPClient makes the token requests; default a client with a
	// 10-second timeout.
	HTTPClient *http.Client
}

// TokenSource returns a token source for the application's API calls: it
// caches the token, renews it EarlyRenewal before it expires, and is safe
// for concurrent use. ctx is kept for every token request it makes: give a
// long-lived one, such as context.Background(), not a request's.
func (c FranceTravailPartenaire) TokenSource(ctx context.Context) oauth2.TokenSource {
	host := pick(c.Recette, franceTravailEmployeurRecetteHost, franceTravailEmployeurHost)
	cc := &clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		TokenURL:     withRealm(or(c.TokenURL, host+"/connexion/oauth2/access_token"), franceTravailPartenaire),
		Scopes:       franceTravailScopes(c.ClientID, c.APIScopes),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	margin := c.EarlyRenewal
	if margin == 0 {
		margin = time.Minute
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.client())
	return oauth2.ReuseTokenSourceWithExpiry(nil, cc.TokenSource(ctx), margin)
}

// Client returns an HTTP client for France Travail's APIs: it sends the
// application's token, from [FranceTravailPartenaire.TokenSource], with
// every request, over HTTPClient's transport. Each client has its own
// token cache: make one and keep it.
func (c FranceTravailPartenaire) Client(ctx context.Context) *http.Client {
	return &http.Client{
		Transport: &oauth2.Transport{Source: c.TokenSource(ctx), Base: c.client().Transport},
		Timeout:   c.client().Timeout,
	}
}

func (c FranceTravailPartenaire) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func pick[T any](cond bool, yes, no T) T {
	if cond {
		return yes
	}
	return no
}
