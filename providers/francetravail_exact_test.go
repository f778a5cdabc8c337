package providers_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// These tests hold the France Travail preset to France Travail's own
// pages: "Utiliser les API" (the realm table and its summary of URLs) and
// the authorization code with PKCE page, for public applications.

// TestFranceTravailPublicClient: a public application (authorization code
// with PKCE, no secret) works with the preset as it is; the token request
// carries client_id and code_verifier, no secret, no Basic header.
func TestFranceTravailPublicClient(t *testing.T) {
	p := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, ClientID: ftClient})
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate refused a public application: %v", err)
	}
	op := ftFake(t, providers.FranceTravailIndividu, p.Issuer)
	op.auth = "none"
	n := newInternet()
	n.handle("authentification-candidat.francetravail.fr", op)
	a := newApp(t, n, nil, p)
	_, q := splitURL(t, a.login(p.Name))
	checkValues(t, "authorize", q, map[string]string{
		"realm": "/individu", "client_id": ftClient, "response_type": "code", "redirect_uri": a.URL + "/auth/callback",
		"scope": "application_" + ftClient + " openid profile email",
		"state": anyValue, "nonce": anyValue, "code_challenge": anyValue, "code_challenge_method": "S256",
	})
	tok := op.only("token")
	if tok.Method != http.MethodPost || tok.URL != "https://authentification-candidat.francetravail.fr/connexion/oauth2/access_token?realm=%2Findividu" {
		t.Errorf("token request %s %s", tok.Method, tok.URL)
	}
	if h := tok.Header.Get("Authorization"); h != "" {
		t.Errorf("token request has Authorization %q", h)
	}
	checkValues(t, "token body", tok.Form, map[string]string{
		"grant_type": "authorization_code", "code": anyValue, "redirect_uri": a.URL + "/auth/callback",
		"client_id": ftClient, "code_verifier": anyValue,
	})
	d, ok := a.session()
	if !ok || d.Subject != testSubject {
		t.Fatalf("no session after the login: %+v", d)
	}
	where, q := splitURL(t, a.expectRedirect(a.logout("")))
	if where != "https://authentification-candidat.francetravail.fr/compte/deconnexion" {
		t.Errorf("logout at %s", where)
	}
	checkValues(t, "logout", q, map[string]string{"id_token_hint": d.IDToken, "redirect_uri": a.URL + "/auth/logged-out"})
}

// TestFranceTravailEntrepriseRealm: the realm table's "/entreprise" is
// accepted and "/employeur", the value of the endpoint pages, is sent.
func TestFranceTravailEntrepriseRealm(t *testing.T) {
	p := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailEntreprise,
		ClientID: ftClient, ClientSecret: ftSecret})
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Name != "francetravail-employeur" {
		t.Errorf("Name %q", p.Name)
	}
	op := ftFake(t, providers.FranceTravailEmployeur, p.Issuer)
	n := newInternet()
	n.handle("entreprise.francetravail.fr", op)
	a := newApp(t, n, nil, p)
	where, q := splitURL(t, a.login(p.Name))
	if where != "https://entreprise.francetravail.fr/connexion/oauth2/authorize" || q.Get("realm") != "/employeur" {
		t.Errorf("authorize at %s with realm %q, want realm /employeur", where, q.Get("realm"))
	}
	if tok := op.only("token"); tok.URL != "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Femployeur" {
		t.Errorf("token request at %s", tok.URL)
	}
	if p.Issuer != "https://entreprise.francetravail.fr:443/connexion/oauth2/realms/root/realms/employeur" {
		t.Errorf("Issuer %q", p.Issuer)
	}
}

// TestFranceTravailUnknownRealm: a realm the preset does not know is an
// error at Validate and at middleware.New, naming the realm; never a panic.
func TestFranceTravailUnknownRealm(t *testing.T) {
	for _, realm := range []providers.FranceTravailRealm{"/recruteur", "", "individu", "/partenaire"} {
		var p providers.Provider
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("realm %q: panic %v", realm, r)
				}
			}()
			p = providers.FranceTravail(providers.FranceTravailConfig{Realm: realm, ClientID: ftClient, ClientSecret: ftSecret})
		}()
		err := p.Validate()
		if err == nil || !strings.Contains(err.Error(), `realm "`+string(realm)+`"`) {
			t.Errorf("realm %q: Validate = %v, want an error naming the realm", realm, err)
		}
		_, err = middleware.New(middleware.Config{AppURL: "http://127.0.0.1:8080", Providers: []providers.Provider{p}, Keys: []session.KeyPair{{HashKey: []byte(strings.Repeat("h", 32)), BlockKey: []byte(strings.Repeat("b", 32))}}})
		if err == nil {
			t.Errorf("realm %q: middleware.New accepted the provider", realm)
		}
	}
}

// TestFranceTravailEndpointOverrides: every endpoint has an override;
// the agents' token URL as the summary table spells it ("acces_token")
// gets the realm added and is used for the whole login.
func TestFranceTravailEndpointOverrides(t *testing.T) {
	const host = "https://proxyproconnect.francetravail.net"
	p := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailAgent,
		ClientID: ftClient, ClientSecret: ftSecret,
		TokenURL: host + "/connexion/oauth2/acces_token",
		Issuer:   host + "/connexion/oauth2/realms/root/realms/agent",
		JWKSURL:  host + "/connexion/oauth2/connect/jwk_uri",
	})
	for _, c := range []struct{ what, got, want string }{
		{"TokenURL", p.Endpoints.TokenURL, host + "/connexion/oauth2/acces_token?realm=%2Fagent"},
		{"Issuer", p.Issuer, host + "/connexion/oauth2/realms/root/realms/agent"},
		{"JWKSURL", p.Endpoints.JWKSURL, host + "/connexion/oauth2/connect/jwk_uri"},
		{"AuthURL", p.Endpoints.AuthURL, host + "/connexion/oauth2/agent/authorize"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	op := ftFake(t, providers.FranceTravailAgent, p.Issuer)
	op.paths.Token = "/connexion/oauth2/acces_token"
	n := newInternet()
	n.handle("proxyproconnect.francetravail.net", op)
	a := newApp(t, n, nil, p)
	a.login(p.Name)
	if tok := op.only("token"); tok.URL != host+"/connexion/oauth2/acces_token?realm=%2Fagent" {
		t.Errorf("token request at %s", tok.URL)
	}
	if jwks := op.only("jwks"); jwks.URL != host+"/connexion/oauth2/connect/jwk_uri" {
		t.Errorf("keys read at %s", jwks.URL)
	}

	// An override that names its realm is kept as it is; AuthURL too.
	p = providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, ClientID: ftClient,
		TokenURL: "https://idp.example.net/token?realm=%2Findividu&x=1", AuthURL: "https://idp.example.net/authorize"})
	if p.Endpoints.TokenURL != "https://idp.example.net/token?realm=%2Findividu&x=1" || p.Endpoints.AuthURL != "https://idp.example.net/authorize" {
		t.Errorf("overrides changed: %q %q", p.Endpoints.TokenURL, p.Endpoints.AuthURL)
	}
}

// TestFranceTravailIssuerMismatchNamed: France Travail documents "iss" on
// the callback but not its form. When it differs from the configured
// issuer (here without ":443"), the login fails before the code is
// redeemed and the log names the configured issuer and the one received.
func TestFranceTravailIssuerMismatchNamed(t *testing.T) {
	const received = "https://authentification-candidat.francetravail.fr/connexion/oauth2/realms/root/realms/individu"
	p := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, ClientID: ftClient, ClientSecret: ftSecret})
	op := ftFake(t, providers.FranceTravailIndividu, p.Issuer)
	op.callbackIss = received
	n := newInternet()
	n.handle("authentification-candidat.francetravail.fr", op)
	var logs lockedBuffer
	a := newApp(t, n, func(c *middleware.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }, p)
	resp, body := a.get(a.expectRedirect(a.get(a.expectRedirect(a.get(a.URL + "/auth/login")))))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback answered %s: %.200s", resp.Status, body)
	}
	if len(op.requests("token")) != 0 {
		t.Error("the code was redeemed despite the other iss")
	}
	out := logs.String()
	if !strings.Contains(out, `\"`+p.Issuer+`\"`) || !strings.Contains(out, `\"`+received+`\"`) {
		t.Errorf("the log does not name both issuers:\n%s", out)
	}
	if strings.Contains(body, received) {
		t.Error("the page shows the received issuer")
	}

	// With Issuer set to the received form, the login works.
	p = providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, ClientID: ftClient, ClientSecret: ftSecret, Issuer: received})
	op = ftFake(t, providers.FranceTravailIndividu, received)
	n = newInternet()
	n.handle("authentification-candidat.francetravail.fr", op)
	a = newApp(t, n, nil, p)
	a.login(p.Name)
}

// TestFranceTravailPartenaireHosts: the client credentials token endpoint
// is on entreprise.francetravail.fr by default; the francetravail.io host
// of the summary table is one constant away, with the realm added.
func TestFranceTravailPartenaireHosts(t *testing.T) {
	f := &partnerFake{t: t, expiresIn: 1499}
	n := newInternet()
	n.handle("francetravail.io", f)
	ts := providers.FranceTravailPartenaire{ClientID: ftClient, ClientSecret: ftSecret,
		TokenURL: providers.FranceTravailPartenaireIOTokenURL, HTTPClient: n.client()}.TokenSource(context.Background())
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	if got := f.log[0].URL; got != "https://francetravail.io/connexion/oauth2/access_token?realm=%2Fpartenaire" {
		t.Errorf("token request at %s", got)
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a
// logger.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
