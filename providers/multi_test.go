package providers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/endsession/endsession/providers"
)

// TestSeveralProviders: one application, several providers. The login
// route takes ?provider=NAME, the session remembers the provider, and
// logout uses that provider's strategy, and only that one.
func TestSeveralProviders(t *testing.T) {
	ft := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailIndividu, ClientID: ftClient, ClientSecret: ftSecret})
	dkt := providers.Decathlon(providers.DecathlonConfig{ClientID: dktClient, ClientSecret: dktSecret})
	n := newInternet()
	ftOP := ftFake(t, providers.FranceTravailIndividu, ft.Issuer)
	dktOP := decathlonFake(t, dkt.Issuer)
	adobe := &adobeFake{t: t, v2Answer: `{"logouts":{"Cablevision":{"actionName":"complete","actionType":"none","mvpd":"Cablevision"}}}`}
	n.handle("authentification-candidat.francetravail.fr", ftOP)
	n.handle("api-global.decathlon.net", dktOP)
	n.handle("api.auth.adobe.com", adobe)
	dcr := &providers.AdobeDCR{ClientID: adobeClient, ClientSecret: adobeSecret, HTTPClient: n.client()}
	a := newApp(t, n, nil, ft, dkt, providers.AdobePass(providers.AdobePassLogout{Tokens: dcr}))

	// Without a name, the user chooses among the providers with a login.
	resp, body := a.get(a.URL + "/auth/login")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "provider=francetravail-individu") ||
		!strings.Contains(body, "provider=decathlon") || strings.Contains(body, "provider=adobe") {
		t.Errorf("chooser %s: %s", resp.Status, body)
	}

	// Decathlon, then France Travail in the same browser: the second
	// login replaces the session, and logout goes to France Travail.
	auth := a.login("decathlon")
	if !strings.HasPrefix(auth, "https://api-global.decathlon.net/") {
		t.Errorf("decathlon login at %s", auth)
	}
	// Each provider has its own callback (RFC 9700's mix-up defence).
	if u, _ := url.Parse(auth); u.Query().Get("redirect_uri") != a.URL+"/auth/callback/decathlon" {
		t.Errorf("decathlon login with redirect_uri %s", u.Query().Get("redirect_uri"))
	}
	if d, _ := a.session(); d.Provider != "decathlon" {
		t.Errorf("session provider %q", d.Provider)
	}
	if auth := a.login("francetravail-individu"); !strings.HasPrefix(auth, "https://authentification-candidat.francetravail.fr/") {
		t.Errorf("France Travail login at %s", auth)
	}
	if d, _ := a.session(); d.Provider != "francetravail-individu" {
		t.Errorf("session provider %q", d.Provider)
	}
	resp, body = a.logout("")
	if target := a.expectRedirect(resp, body); !strings.HasPrefix(target, "https://authentification-candidat.francetravail.fr/compte/deconnexion?") {
		t.Errorf("logout at %s", target)
	}
	a.follow(resp, body)
	if len(ftOP.requests("logout")) != 1 || len(dktOP.requests("logout")) != 0 {
		t.Errorf("logouts: France Travail %d, Decathlon %d", len(ftOP.requests("logout")), len(dktOP.requests("logout")))
	}

	// Decathlon again, with its state checked on the way back.
	a.login("decathlon")
	resp, body = a.logout("")
	if target := a.expectRedirect(resp, body); !strings.HasPrefix(target, "https://api-global.decathlon.net/connect/openid/logout?") {
		t.Errorf("logout at %s", target)
	}
	if got := a.follow(resp, body); got != a.URL+"/" {
		t.Errorf("landed on %s", got)
	}

	// A device session ends at Adobe, server to server.
	a.deviceLogin()
	resp, body = a.logout("")
	if got := a.follow(resp, body); got != a.URL+"/" {
		t.Errorf("landed on %s", got)
	}
	if len(adobe.requests("v2")) != 1 || len(ftOP.requests("logout")) != 1 || len(dktOP.requests("logout")) != 1 {
		t.Errorf("logouts: Adobe %d, France Travail %d, Decathlon %d",
			len(adobe.requests("v2")), len(ftOP.requests("logout")), len(dktOP.requests("logout")))
	}
}
