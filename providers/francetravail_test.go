package providers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/providers"
)

const (
	ftClient = "PAR_monappli_0123456789abcdef"
	ftSecret = "s3cr3t+/=&"
)

// ftFake stands for one realm of France Travail's authentication server
// (and its API host, for userinfo), with its names: realm in the token
// URL's query, secret in the body, nonce echoed in the token response,
// iss on the callback, redirect_uri on logout.
func ftFake(t *testing.T, realm providers.FranceTravailRealm, issuer string) *fakeOP {
	op := newFakeOP(t, issuer, ftClient, ftSecret)
	op.auth = "post"
	op.tokenQuery = url.Values{"realm": {string(realm)}}
	op.nonceInToken = true
	op.callbackIss = issuer
	op.callbackExtras = true
	op.returnParam = "redirect_uri"
	op.echoState = false
	op.paths = opPaths{
		Authorize: "/connexion/oauth2/authorize",
		Token:     "/connexion/oauth2/access_token",
		JWKS:      "/connexion/oauth2/connect/jwk_uri",
		Logout:    "/compte/deconnexion",
	}
	switch realm {
	case providers.FranceTravailIndividu:
		op.paths.UserInfo = "/partenaire/peconnect-individu/v1/userinfo"
	case providers.FranceTravailEmployeur:
		op.paths.UserInfo = "/partenaire/peconnect-entreprise/v1/userinfo"
	case providers.FranceTravailAgent:
		op.paths.Authorize = "/connexion/oauth2/agent/authorize"
		op.paths.Logout = "/connexion/oauth2/deconnexion"
		op.logoutMethods = []string{http.MethodPost}
	}
	return op
}

// TestFranceTravailEndpoints is the golden configuration of every realm,
// in production and in recette, without any network.
func TestFranceTravailEndpoints(t *testing.T) {
	cases := []struct {
		name                                          string
		cfg                                           providers.FranceTravailConfig
		provName, issuer, auth, token, jwks, userinfo string
		authParams                                    url.Values
		logoutURL, logoutMethod                       string
	}{
		{
			name:       "individu",
			cfg:        providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu},
			provName:   "francetravail-individu",
			issuer:     "https://authentification-candidat.francetravail.fr:443/connexion/oauth2/realms/root/realms/individu",
			auth:       "https://authentification-candidat.francetravail.fr/connexion/oauth2/authorize",
			token:      "https://authentification-candidat.francetravail.fr/connexion/oauth2/access_token?realm=%2Findividu",
			jwks:       "https://authentification-candidat.francetravail.fr/connexion/oauth2/connect/jwk_uri?realm=%2Findividu",
			userinfo:   "https://api.francetravail.io/partenaire/peconnect-individu/v1/userinfo?realm=%2Findividu",
			authParams: url.Values{"realm": {"/individu"}},
			logoutURL:  "https://authentification-candidat.francetravail.fr/compte/deconnexion", logoutMethod: "",
		},
		{
			name:       "employeur",
			cfg:        providers.FranceTravailConfig{Realm: providers.FranceTravailEmployeur},
			provName:   "francetravail-employeur",
			issuer:     "https://entreprise.francetravail.fr:443/connexion/oauth2/realms/root/realms/employeur",
			auth:       "https://entreprise.francetravail.fr/connexion/oauth2/authorize",
			token:      "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Femployeur",
			jwks:       "https://entreprise.francetravail.fr/connexion/oauth2/connect/jwk_uri?realm=%2Femployeur",
			userinfo:   "https://api.francetravail.io/partenaire/peconnect-entreprise/v1/userinfo?realm=%2Femployeur",
			authParams: url.Values{"realm": {"/employeur"}},
			logoutURL:  "https://entreprise.francetravail.fr/compte/deconnexion",
		},
		{
			name:      "agent",
			cfg:       providers.FranceTravailConfig{Realm: providers.FranceTravailAgent},
			provName:  "francetravail-agent",
			issuer:    "https://proxyproconnect.francetravail.net:443/connexion/oauth2/realms/root/realms/agent",
			auth:      "https://proxyproconnect.francetravail.net/connexion/oauth2/agent/authorize",
			token:     "https://proxyproconnect.francetravail.net/connexion/oauth2/access_token?realm=%2Fagent",
			jwks:      "https://proxyproconnect.francetravail.net/connexion/oauth2/connect/jwk_uri?realm=%2Fagent",
			logoutURL: "https://proxyproconnect.francetravail.net/connexion/oauth2/deconnexion", logoutMethod: http.MethodPost,
		},
		{
			name:       "individu recette",
			cfg:        providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, Recette: true},
			provName:   "francetravail-individu",
			issuer:     "https://authentification-candidat-r.ft-qvr.fr:443/connexion/oauth2/realms/root/realms/individu",
			auth:       "https://authentification-candidat-r.ft-qvr.fr/connexion/oauth2/authorize",
			token:      "https://authentification-candidat-r.ft-qvr.fr/connexion/oauth2/access_token?realm=%2Findividu",
			jwks:       "https://authentification-candidat-r.ft-qvr.fr/connexion/oauth2/connect/jwk_uri?realm=%2Findividu",
			userinfo:   "https://api.peio.ft-qvr.fr/partenaire/peconnect-individu/v1/userinfo?realm=%2Findividu",
			authParams: url.Values{"realm": {"/individu"}},
			logoutURL:  "https://authentification-candidat-r.ft-qvr.fr/compte/deconnexion",
		},
		{
			name:       "employeur recette",
			cfg:        providers.FranceTravailConfig{Realm: providers.FranceTravailEmployeur, Recette: true},
			provName:   "francetravail-employeur",
			issuer:     "https://entreprise.ft-qvr.fr:443/connexion/oauth2/realms/root/realms/employeur",
			auth:       "https://entreprise.ft-qvr.fr/connexion/oauth2/authorize",
			token:      "https://entreprise.ft-qvr.fr/connexion/oauth2/access_token?realm=%2Femployeur",
			jwks:       "https://entreprise.ft-qvr.fr/connexion/oauth2/connect/jwk_uri?realm=%2Femployeur",
			userinfo:   "https://api.peio.ft-qvr.fr/partenaire/peconnect-entreprise/v1/userinfo?realm=%2Femployeur",
			authParams: url.Values{"realm": {"/employeur"}},
			logoutURL:  "https://entreprise.ft-qvr.fr/compte/deconnexion",
		},
		{
			name:      "agent recette",
			cfg:       providers.FranceTravailConfig{Realm: providers.FranceTravailAgent, Recette: true},
			provName:  "francetravail-agent",
			issuer:    "https://proxyproconnect-r.ft-qvr.net:443/connexion/oauth2/realms/root/realms/agent",
			auth:      "https://proxyproconnect-r.ft-qvr.net/connexion/oauth2/agent/authorize",
			token:     "https://proxyproconnect-r.ft-qvr.net/connexion/oauth2/access_token?realm=%2Fagent",
			jwks:      "https://proxyproconnect-r.ft-qvr.net/connexion/oauth2/connect/jwk_uri?realm=%2Fagent",
			logoutURL: "https://proxyproconnect-r.ft-qvr.net/connexion/oauth2/deconnexion", logoutMethod: http.MethodPost,
		},
		{
			name: "overrides",
			cfg: providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, Name: "pe",
				BaseURL: "https://idp.example.net/", Issuer: "https://idp.example.net/connexion/oauth2/individu",
				JWKSURL: "https://keys.example.net/jwks", UserInfoURL: "https://api.example.net/userinfo",
				LogoutURL: "https://idp.example.net/logout"},
			provName:   "pe",
			issuer:     "https://idp.example.net/connexion/oauth2/individu",
			auth:       "https://idp.example.net/connexion/oauth2/authorize",
			token:      "https://idp.example.net/connexion/oauth2/access_token?realm=%2Findividu",
			jwks:       "https://keys.example.net/jwks",
			userinfo:   "https://api.example.net/userinfo",
			authParams: url.Values{"realm": {"/individu"}},
			logoutURL:  "https://idp.example.net/logout",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ClientID, tc.cfg.ClientSecret = ftClient, ftSecret
			tc.cfg.APIScopes = []string{"api_peconnect-individuv1", "individu"}
			p := providers.FranceTravail(tc.cfg)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			e := p.Endpoints
			for _, c := range []struct{ what, got, want string }{
				{"Name", p.Name, tc.provName}, {"Issuer", p.Issuer, tc.issuer},
				{"AuthURL", e.AuthURL, tc.auth}, {"TokenURL", e.TokenURL, tc.token},
				{"JWKSURL", e.JWKSURL, tc.jwks}, {"UserInfoURL", e.UserInfoURL, tc.userinfo},
				{"AuthMethod", string(p.AuthMethod), string(providers.AuthPost)},
				{"Scopes", strings.Join(p.Scopes, " "), "application_" + ftClient + " api_peconnect-individuv1 individu openid profile email"},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if got, want := p.AuthParams.Encode(), tc.authParams.Encode(); got != want {
				t.Errorf("AuthParams = %q, want %q", got, want)
			}
			want := providers.RPInitiated{URL: tc.logoutURL, Method: tc.logoutMethod, RedirectParam: "redirect_uri", OmitState: true, RequireIDToken: true}
			if got, ok := p.Logout.(providers.RPInitiated); !ok || got.URL != want.URL || got.Method != want.Method ||
				got.RedirectParam != want.RedirectParam || !got.OmitState || !got.RequireIDToken || got.ClientID || got.Extra != nil {
				t.Errorf("Logout = %#v, want %#v", p.Logout, want)
			}
		})
	}
}

// TestFranceTravailLoginLogout runs a whole login and logout of each realm
// through the middleware against France Travail's production URLs, and
// checks every request the browser and the server send.
func TestFranceTravailLoginLogout(t *testing.T) {
	cases := []struct {
		realm      providers.FranceTravailRealm
		host       string
		apiHost    string
		authorize  string
		token      string
		logout     string
		realmQuery bool
	}{
		{providers.FranceTravailIndividu, "authentification-candidat.francetravail.fr", "api.francetravail.io",
			"https://authentification-candidat.francetravail.fr/connexion/oauth2/authorize",
			"https://authentification-candidat.francetravail.fr/connexion/oauth2/access_token?realm=%2Findividu",
			"https://authentification-candidat.francetravail.fr/compte/deconnexion", true},
		{providers.FranceTravailEmployeur, "entreprise.francetravail.fr", "api.francetravail.io",
			"https://entreprise.francetravail.fr/connexion/oauth2/authorize",
			"https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Femployeur",
			"https://entreprise.francetravail.fr/compte/deconnexion", true},
		{providers.FranceTravailAgent, "proxyproconnect.francetravail.net", "",
			"https://proxyproconnect.francetravail.net/connexion/oauth2/agent/authorize",
			"https://proxyproconnect.francetravail.net/connexion/oauth2/access_token?realm=%2Fagent",
			"https://proxyproconnect.francetravail.net/connexion/oauth2/deconnexion", false},
	}
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(string(tc.realm), "/"), func(t *testing.T) {
			t.Parallel()
			p := providers.FranceTravail(providers.FranceTravailConfig{
				Realm: tc.realm, ClientID: ftClient, ClientSecret: ftSecret,
				APIScopes: []string{"api_peconnect-individuv1", "individu"},
				UserInfo:  tc.apiHost != "",
			})
			op := ftFake(t, tc.realm, p.Issuer)
			n := newInternet()
			n.handle(tc.host, op)
			if tc.apiHost != "" {
				n.handle(tc.apiHost, op)
			}
			a := newApp(t, n, nil, p)

			// Login: the authorization request, as the browser sends it.
			authorize := a.login(p.Name)
			where, q := splitURL(t, authorize)
			if where != tc.authorize {
				t.Errorf("authorize at %s, want %s", where, tc.authorize)
			}
			want := map[string]string{
				"client_id": ftClient, "response_type": "code", "redirect_uri": a.URL + "/auth/callback",
				"scope": "application_" + ftClient + " api_peconnect-individuv1 individu openid profile email",
				"state": anyValue, "nonce": anyValue, "code_challenge": anyValue, "code_challenge_method": "S256",
			}
			if tc.realmQuery {
				want["realm"] = string(tc.realm)
			}
			checkValues(t, "authorize", q, want)

			// The token request: realm only in the URL's query, the
			// credentials only in the body, no Basic header.
			tok := op.only("token")
			if tok.Method != http.MethodPost || tok.URL != tc.token {
				t.Errorf("token request %s %s, want POST %s", tok.Method, tok.URL, tc.token)
			}
			if h := tok.Header.Get("Authorization"); h != "" {
				t.Errorf("token request has Authorization %q; France Travail takes the secret in the body only", h)
			}
			if ct := tok.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("token request Content-Type %q", ct)
			}
			checkValues(t, "token body", tok.Form, map[string]string{
				"grant_type": "authorization_code", "code": anyValue, "redirect_uri": a.URL + "/auth/callback",
				"client_id": ftClient, "client_secret": ftSecret, "code_verifier": anyValue,
			})
			checkValues(t, "token query", tok.Query, map[string]string{"realm": string(tc.realm)})
			if jwks := op.only("jwks"); jwks.URL != p.Endpoints.JWKSURL {
				t.Errorf("keys read at %s, want %s", jwks.URL, p.Endpoints.JWKSURL)
			}
			if tc.apiHost != "" {
				ui := op.only("userinfo")
				if ui.URL != p.Endpoints.UserInfoURL || !strings.HasPrefix(ui.Header.Get("Authorization"), "Bearer at-") {
					t.Errorf("userinfo %s with %q", ui.URL, ui.Header.Get("Authorization"))
				}
			}
			d, ok := a.session()
			if !ok || d.Subject != testSubject || d.Email != "ada@example.com" || d.IDToken == "" {
				t.Fatalf("session after login: %+v", d)
			}

			// Logout: local first, then France Travail with id_token_hint
			// and redirect_uri, no state.
			resp, body := a.logout("/bye")
			if _, ok := a.session(); ok {
				t.Error("the session survived the logout response")
			}
			var landing string
			if tc.realm == providers.FranceTravailAgent {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("agent logout answered %s, want the auto-submitted form", resp.Status)
				}
				action, form := autoPostForm(t, body)
				if action != tc.logout {
					t.Errorf("logout form posts to %s, want %s", action, tc.logout)
				}
				checkValues(t, "logout form", form, map[string]string{"id_token_hint": d.IDToken, "redirect_uri": a.URL + "/auth/logged-out"})
				landing = a.follow(a.post(action, a.URL, form))
				lo := op.only("logout")
				if lo.Method != http.MethodPost || lo.URL != tc.logout || len(lo.Query) != 0 {
					t.Errorf("logout request %s %s", lo.Method, lo.URL)
				}
				checkValues(t, "logout body", lo.Form, map[string]string{"id_token_hint": d.IDToken, "redirect_uri": a.URL + "/auth/logged-out"})
			} else {
				target := a.expectRedirect(resp, body)
				where, q := splitURL(t, target)
				if where != tc.logout {
					t.Errorf("logout at %s, want %s", where, tc.logout)
				}
				checkValues(t, "logout", q, map[string]string{"id_token_hint": d.IDToken, "redirect_uri": a.URL + "/auth/logged-out"})
				landing = a.follow(resp, body)
				if lo := op.only("logout"); lo.Method != http.MethodGet {
					t.Errorf("logout request %s", lo.Method)
				}
			}
			if landing != a.URL+"/bye" {
				t.Errorf("landed on %s, want %s/bye", landing, a.URL)
			}
			if ev := a.events(); len(ev) != 1 || ev[0] != "app.erase" {
				t.Errorf("application erase hook calls: %q", ev)
			}
		})
	}
}

// TestFranceTravailChecks proves the middleware's generic checks hold for
// France Travail's answers: the callback's iss compared exactly, the
// nonce echoed in the token response compared when present.
func TestFranceTravailChecks(t *testing.T) {
	cases := []struct {
		name   string
		tweak  func(op *fakeOP)
		status int
	}{
		{"iss as configured", func(op *fakeOP) {}, http.StatusSeeOther},
		{"iss without :443", func(op *fakeOP) {
			op.callbackIss = "https://authentification-candidat.francetravail.fr/connexion/oauth2/realms/root/realms/individu"
		}, http.StatusBadRequest},
		{"iss of another realm", func(op *fakeOP) {
			op.callbackIss = "https://authentification-candidat.francetravail.fr:443/connexion/oauth2/realms/root/realms/employeur"
		}, http.StatusBadRequest},
		{"no iss", func(op *fakeOP) { op.callbackIss = "" }, http.StatusSeeOther},
		{"token nonce differs", func(op *fakeOP) { op.tokenNonce = "not-the-nonce" }, http.StatusBadRequest},
		{"no token nonce", func(op *fakeOP) { op.nonceInToken = false }, http.StatusSeeOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, ClientID: ftClient, ClientSecret: ftSecret})
			op := ftFake(t, providers.FranceTravailIndividu, p.Issuer)
			tc.tweak(op)
			n := newInternet()
			n.handle("authentification-candidat.francetravail.fr", op)
			a := newApp(t, n, nil, p)
			callback := a.expectRedirect(a.get(a.expectRedirect(a.get(a.URL + "/auth/login"))))
			resp, body := a.get(callback)
			if resp.StatusCode != tc.status {
				t.Fatalf("callback answered %s, want %d: %.200s", resp.Status, tc.status, body)
			}
			_, ok := a.session()
			if ok != (tc.status == http.StatusSeeOther) {
				t.Errorf("session after the callback: %v", ok)
			}
			if tc.status != http.StatusSeeOther && strings.HasPrefix(tc.name, "iss") && len(op.requests("token")) != 0 {
				t.Error("the code was redeemed despite the wrong iss")
			}
		})
	}
}

// TestFranceTravailBaseURL points the preset at a fake served by httptest
// through BaseURL alone.
func TestFranceTravailBaseURL(t *testing.T) {
	op := ftFake(t, providers.FranceTravailIndividu, "")
	srv := httptest.NewServer(op)
	defer srv.Close()
	p := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu,
		ClientID: ftClient, ClientSecret: ftSecret, BaseURL: srv.URL})
	if want := srv.URL + "/connexion/oauth2/realms/root/realms/individu"; p.Issuer != want {
		t.Fatalf("Issuer %q, want %q", p.Issuer, want)
	}
	op.issuer, op.callbackIss = p.Issuer, p.Issuer
	a := newApp(t, newInternet(), nil, p)
	a.login(p.Name)
	if tok := op.only("token"); tok.URL != srv.URL+"/connexion/oauth2/access_token?realm=%2Findividu" {
		t.Errorf("token URL %s", tok.URL)
	}
	resp, body := a.logout("")
	if got := a.follow(resp, body); got != a.URL+"/" {
		t.Errorf("landed on %s", got)
	}
	if lo := op.only("logout"); !strings.HasPrefix(lo.URL, srv.URL+"/compte/deconnexion?") {
		t.Errorf("logout at %s", lo.URL)
	}
}

// partnerFake is France Travail's token endpoint for the /partenaire
// realm.
type partnerFake struct {
	t         *testing.T
	expiresIn int
	mu        sync.Mutex
	log       []recorded
	issued    atomic.Int32
}

func (f *partnerFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := record("token", r)
	f.mu.Lock()
	f.log = append(f.log, rec)
	f.mu.Unlock()
	if r.URL.Path == "/api" {
		w.Write([]byte(r.Header.Get("Authorization")))
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/connexion/oauth2/access_token" || r.URL.Query().Get("realm") != "/partenaire" ||
		rec.Form.Has("realm") || r.Header.Get("Authorization") != "" || rec.Form.Get("client_secret") != ftSecret {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client"})
		return
	}
	n := f.issued.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "cc-" + string(rune('a'+n-1)), "token_type": "Bearer",
		"expires_in": f.expiresIn, "scope": rec.Form.Get("scope")})
}

func TestFranceTravailPartenaire(t *testing.T) {
	f := &partnerFake{t: t, expiresIn: 1499}
	n := newInternet()
	n.handle("entreprise.francetravail.fr", f)
	c := providers.FranceTravailPartenaire{ClientID: ftClient, ClientSecret: ftSecret,
		APIScopes: []string{"api_offresdemploiv2", "o2dsoffre"}, HTTPClient: n.client()}
	ts := c.TokenSource(context.Background())

	// Many goroutines at once: one token request, one token.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			tok, err := ts.Token()
			if err != nil || tok.AccessToken != "cc-a" {
				t.Errorf("Token() = %v, %v", tok, err)
			}
		})
	}
	wg.Wait()
	if got := f.issued.Load(); got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
	req := f.log[0]
	if req.Method != http.MethodPost || req.URL != "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire" {
		t.Errorf("token request %s %s", req.Method, req.URL)
	}
	if h := req.Header.Get("Authorization"); h != "" {
		t.Errorf("token request has Authorization %q", h)
	}
	checkValues(t, "token body", req.Form, map[string]string{
		"grant_type": "client_credentials", "client_id": ftClient, "client_secret": ftSecret,
		"scope": "application_" + ftClient + " api_offresdemploiv2 o2dsoffre",
	})

	// The client sends the cached token.
	resp, err := c.Client(context.Background()).Get("https://entreprise.francetravail.fr/api")
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Client has its own token source, hence a second token.
	if string(sent) != "Bearer cc-b" {
		t.Errorf("API call sent Authorization %q, want the application's token", sent)
	}
}

// TestFranceTravailPartenaireRenewal: a token within EarlyRenewal of its
// expiry is replaced before use.
func TestFranceTravailPartenaireRenewal(t *testing.T) {
	cases := []struct {
		name      string
		expiresIn int
		margin    time.Duration
		requests  int32
	}{
		{"long-lived token is reused", 1500, 0, 1},
		{"token inside the default margin is renewed", 50, 0, 3},
		{"token inside a custom margin is renewed", 500, 10 * time.Minute, 3},
		{"token outside a custom margin is reused", 500, 5 * time.Second, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &partnerFake{t: t, expiresIn: tc.expiresIn}
			n := newInternet()
			n.handle("entreprise.ft-qvr.fr", f)
			ts := providers.FranceTravailPartenaire{ClientID: ftClient, ClientSecret: ftSecret, Recette: true,
				EarlyRenewal: tc.margin, HTTPClient: n.client()}.TokenSource(context.Background())
			for range 3 {
				if _, err := ts.Token(); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.issued.Load(); got != tc.requests {
				t.Errorf("%d token requests, want %d", got, tc.requests)
			}
		})
	}
}
