package providers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// keys stands for the application's session keys, loaded from its
// secrets.
var keys = []session.KeyPair{{HashKey: []byte(strings.Repeat("k", 32)), BlockKey: []byte(strings.Repeat("b", 32))}}

// mux stands for the application's own handler.
var mux = http.NewServeMux()

// serve stands for http.ListenAndServe.
func serve(http.Handler) {}

// secret stands for the application's secret store.
func secret(name string) string { return "value of " + name }

func ExampleOIDC() {
	p := providers.OIDC("corp", "https://login.example.com", "my-client-id", secret("OIDC_CLIENT_SECRET"))
	// Optional: log out by an auto-submitted POST, in French.
	p.Logout = providers.RPInitiated{ClientID: true, UILocales: "fr", Method: http.MethodPost}

	m, err := middleware.New(middleware.Config{
		AppURL:    "https://app.example.com",
		Providers: []providers.Provider{p},
		Keys:      keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	serve(m.Handler(mux))
	fmt.Println(p.Name, p.Issuer)
	// Output: corp https://login.example.com
}

func ExampleFranceTravail() {
	// Job seekers and France Travail's agents in one application.
	individu := providers.FranceTravail(providers.FranceTravailConfig{
		Realm:        providers.FranceTravailIndividu,
		ClientID:     "PAR_monappli_0123456789",
		ClientSecret: secret("FT_CLIENT_SECRET"),
		APIScopes:    []string{"api_peconnect-individuv1", "individu"},
	})
	agent := providers.FranceTravail(providers.FranceTravailConfig{
		Realm:        providers.FranceTravailAgent,
		ClientID:     "PAR_monappli_0123456789",
		ClientSecret: secret("FT_CLIENT_SECRET"),
		APIScopes:    []string{"api_rechercher-usagerv2", "rechercheusager", "profil_accedant"},
	})

	m, err := middleware.New(middleware.Config{
		AppURL:    "https://app.example.com",
		Providers: []providers.Provider{individu, agent},
		Keys:      keys,
		// France Travail asks for every copy of the user's data to be
		// deleted at logout; the session is already gone here.
		OnLogout: func(ctx context.Context, e middleware.LogoutEvent) error {
			return nil // delete the application's copies of e.Subject's data
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	serve(m.Handler(mux)) // sign-in links: /auth/login?provider=francetravail-individu
	for _, p := range []providers.Provider{individu, agent} {
		fmt.Println(p.Name, p.Endpoints.TokenURL)
	}
	fmt.Println(strings.Join(individu.Scopes, " "))
	// Output:
	// francetravail-individu https://authentification-candidat.francetravail.fr/connexion/oauth2/access_token?realm=%2Findividu
	// francetravail-agent https://proxyproconnect.francetravail.net/connexion/oauth2/access_token?realm=%2Fagent
	// application_PAR_monappli_0123456789 api_peconnect-individuv1 individu openid profile email
}

func ExampleFranceTravailPartenaire() {
	api := providers.FranceTravailPartenaire{
		ClientID:     "PAR_monappli_0123456789",
		ClientSecret: secret("FT_CLIENT_SECRET"),
		APIScopes:    []string{"api_offresdemploiv2", "o2dsoffre"},
	}
	// One client for the application's lifetime: it keeps the token and
	// renews it a minute before it expires.
	client := api.Client(context.Background())
	resp, err := client.Get("https://api.francetravail.io/partenaire/offresdemploi/v2/offres/search?motsCles=boulanger")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
}

func ExampleDecathlon() {
	p := providers.Decathlon(providers.DecathlonConfig{
		ClientID:     "my-decathlon-client",
		ClientSecret: secret("DECATHLON_CLIENT_SECRET"),
		Preprod:      true, // pre-production hosts,
	})

	m, err := middleware.New(middleware.Config{
		AppURL:    "https://app.example.com",
		Providers: []providers.Provider{p},
		Keys:      keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	serve(m.Handler(mux))
	fmt.Println(p.Issuer)
	fmt.Println(p.Endpoints.AuthURL)
	// Output:
	// https://api-eu.preprod.decathlon.net/connect
	// https://api-global.preprod.decathlon.net/connect/oauth/authorize
}

func ExampleAuth0() {
	p := providers.Auth0("acme.eu.auth0.com", "my-auth0-client", secret("AUTH0_CLIENT_SECRET"))

	m, err := middleware.New(middleware.Config{
		AppURL:    "https://app.example.com",
		Providers: []providers.Provider{p},
		Keys:      keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	serve(m.Handler(mux))
	// Register https://app.example.com/auth/logged-out in the
	// application's Allowed Logout URLs.
	fmt.Println(p.Issuer)
	// Output: https://acme.eu.auth0.com/
}

func ExampleAuth0Logout() {
	p := providers.Auth0("acme.eu.auth0.com", "my-auth0-client", secret("AUTH0_CLIENT_SECRET"))
	// Always the legacy /v2/logout, and out of the social provider too.
	p.Logout = providers.Auth0Logout{Domain: "acme.eu.auth0.com", Legacy: true, Federated: true}

	act, _ := p.Logout.EndSession(context.Background(), &providers.LogoutRequest{
		ClientID:  p.ClientID,
		ReturnURL: "https://app.example.com/auth/logged-out",
	})
	fmt.Println(act.Method, act.URL)
	// Output: GET https://acme.eu.auth0.com/v2/logout?client_id=my-auth0-client&returnTo=https%3A%2F%2Fapp.example.com%2Fauth%2Flogged-out&federated
}

func ExampleAdobePass() {
	adobe := providers.AdobePass(providers.AdobePassLogout{
		Tokens: &providers.AdobeDCR{ClientID: secret("ADOBE_DCR_CLIENT_ID"), ClientSecret: secret("ADOBE_DCR_CLIENT_SECRET")},
		// V1: true, for an integration still on the legacy REST API v1.
	})

	m, err := middleware.New(middleware.Config{
		AppURL:    "https://app.example.com",
		Providers: []providers.Provider{adobe},
		Keys:      keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	// The application's device flow ends by recording the device in a
	// new session; the sign-out button then posts to /auth/logout.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tv/activated", func(w http.ResponseWriter, r *http.Request) {
		err := m.StartSession(w, r, session.Data{
			Provider: "adobe",
			Subject:  r.FormValue("user"),
			Device: &session.Device{
				ID:        r.FormValue("device_id"),
				Info:      r.FormValue("device_info"), // JSON: model, osName, ...
				Requestor: "REF30",
				MVPD:      r.FormValue("mvpd"),
			},
		})
		if err != nil {
			http.Error(w, "could not sign in", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	serve(m.Handler(mux))
	fmt.Println(adobe.Name, adobe.HasLogin())
	// Output: adobe false
}

func ExampleClientKey() {
	// The application's key, as it loads it: a PEM file, or a signer
	// backed by a KMS. Its public key is registered at the provider.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	p := providers.OIDC("corp", "https://login.example.com", "my-client-id", "")
	p.ClientKey = &providers.ClientKey{Signer: key, KeyID: "key-2026-01"}
	p.PushedAuthorization = true // when the provider has a PAR endpoint

	m, err := middleware.New(middleware.Config{
		AppURL:    "https://app.example.com",
		Providers: []providers.Provider{p},
		Keys:      keys,
	})
	if err != nil {
		log.Fatal(err) // a key that does not fit its algorithm is refused here
	}
	serve(m.Handler(mux))
	fmt.Println(p.TokenAuthMethod())
	// Output: private_key_jwt
}
