package providers_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

func ExampleEntra() {
	// Employees through the company's Entra ID tenant, customers through
	// Google. Google has no logout endpoint: a Google user lands on
	// /auth/logged-out with ?logout_notice=local-only, and the landing page
	// should say that the Google account stays signed in.
	entra := providers.Entra("3f1c2a9e-5b7d-4e11-9c0a-6d2b8e4f7a10", "6731de76-14a6-49ae-97bc-6eba6914391e", secret("ENTRA_SECRET"))
	google := providers.Google("1234-abc.apps.googleusercontent.com", secret("GOOGLE_SECRET"))

	m, err := middleware.New(middleware.Config{
		AppURL:    "https://app.example.com",
		Providers: []providers.Provider{entra, google},
		Keys:      keys,
	})
	if err != nil {
		log.Fatal(err)
	}
	serve(m.Handler(mux)) // sign-in links: /auth/login?provider=entra, /auth/login?provider=google
	for _, p := range []providers.Provider{entra, google} {
		fmt.Println(p.Name, p.Issuer)
	}
	// Output:
	// entra https://login.microsoftonline.com/3f1c2a9e-5b7d-4e11-9c0a-6d2b8e4f7a10/v2.0
	// google https://accounts.google.com
}

func ExampleCognito() {
	p := providers.Cognito(providers.CognitoConfig{
		UserPoolID: "eu-west-1_AbCdEfGhI",
		Domain:     "myapp", // or a custom domain: "auth.example.com"
		ClientID:   "1example23456789abcdefghij", ClientSecret: secret("COGNITO_SECRET"),
	})
	// What the logout sends the browser to: Cognito's own /logout, with
	// the landing URL registered among the app client's Allowed sign-out
	// URLs.
	act, err := p.Logout.EndSession(context.Background(), &providers.LogoutRequest{
		ClientID: p.ClientID, ReturnURL: "https://app.example.com/auth/logged-out",
	})
	if err != nil || act.Method != http.MethodGet {
		log.Fatal(err)
	}
	fmt.Println(p.Issuer)
	fmt.Println(act.URL)
	// Output:
	// https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI
	// https://myapp.auth.eu-west-1.amazoncognito.com/logout?client_id=1example23456789abcdefghij&logout_uri=https%3A%2F%2Fapp.example.com%2Fauth%2Flogged-out
}
