package devprovider_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
)

// This example signs alice in without a browser (AutoLogin), redeems the
// code with PKCE, verifies the ID token with go-oidc, and signs out.
func Example() {
	op, err := devprovider.Start(devprovider.Config{
		Clients: []devprovider.Client{{
			ID:                     "app",
			Secret:                 "app-secret",
			RedirectURIs:           []string{"http://127.0.0.1:8080/auth/callback"},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:8080/auth/logged-out"},
		}},
		AutoLogin: "alice",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, op.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	conf := oauth2.Config{
		ClientID:     "app",
		ClientSecret: "app-secret",
		Endpoint:     provider.Endpoint(),
		RedirectURL:  "http://127.0.0.1:8080/auth/callback",
		Scopes:       []string{oidc.ScopeOpenID, "email"},
	}

	// The browser: it stops at each redirect instead of following it.
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	verifier := oauth2.GenerateVerifier()
	resp, err := browser.Get(conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	callback, err := resp.Location()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state:", callback.Query().Get("state"))

	// The app: redeem the code and verify the ID token.
	tok, err := conf.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	rawIDToken := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, rawIDToken)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	idToken.Claims(&claims)
	fmt.Println("signed in:", idToken.Subject, claims.Email)

	// RP-Initiated Logout: back to the app with the state echoed.
	var endSession struct {
		URL string `json:"end_session_endpoint"`
	}
	provider.Claims(&endSession)
	resp, err = browser.Get(endSession.URL + "?id_token_hint=" + rawIDToken +
		"&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fauth%2Flogged-out&state=bye")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("signed out, back to:", resp.Header.Get("Location"))

	// Output:
	// state: state-1
	// signed in: alice alice@example.com
	// signed out, back to: http://127.0.0.1:8080/auth/logged-out?state=bye
}
