package e2e_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/e2e/internal/zop"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// These tests run the middleware in Chromium against a second OpenID
// provider, written independently of oidc-provider: zitadel's OP library
// (e2e/internal/zop), started in process on loopback.

// zitadelApp starts zitadel's provider and the app, whose provider is
// p(z) (the Zitadel preset, through discovery, unless p says otherwise).
func zitadelApp(t *testing.T, p func(z *zop.Provider) providers.Provider, opts ...func(*middleware.Config)) (*app, *zop.Provider) {
	t.Helper()
	addr := peers.AppAddr(t)
	z := zop.Start(t, "http://"+addr, "zitadel")
	opts = append([]func(*middleware.Config){func(c *middleware.Config) { c.Providers = []providers.Provider{p(z)} }}, opts...)
	return startApp(t, op.At(z.URL), opts...), z
}

// confidential is the provider's confidential client (HTTP Basic).
func confidential(z *zop.Provider) providers.Provider {
	return providers.Zitadel(z.URL, zop.ConfidentialClientID, zop.ConfidentialClientSecret)
}

// zitadelLogin opens the protected page, signs in on the provider's form,
// and returns the session the page saw.
func zitadelLogin(t *testing.T, b *browser.Browser, a *app, z *zop.Provider) session.Data {
	t.Helper()
	b.Navigate(a.URL + "/profile")
	zitadelSignIn(t, b, z)
	b.WaitURL("the protected page", func(u *url.URL) bool { return u.String() == a.URL+"/profile" })
	if got := b.Text("#user"); got != zop.Subject {
		t.Fatalf("the protected page shows %q, want %q", got, zop.Subject)
	}
	return a.LastSession()
}

// zitadelSignIn fills the provider's login form, where b must be.
func zitadelSignIn(t *testing.T, b *browser.Browser, z *zop.Provider) {
	t.Helper()
	b.WaitVisible("#username")
	if u := b.URL(); !strings.HasPrefix(u, z.URL+"/login/username?") {
		t.Fatalf("the login form is at %s, not at the provider", u)
	}
	b.Fill("#username", zop.Username)
	b.Fill("#password", zop.Password)
	b.Click("#login")
}

// zitadelSignOut clicks the sign-out button and checks the whole
// RP-Initiated Logout: the local deletion in the logout response, the
// browser at zitadel's end_session_endpoint with hint, landing URL and
// state, zitadel's redirect back with that state, the state checked by the
// landing route, home, no cookie of the app left, the provider's tokens
// ended, and the password asked again. It returns what the browser sent to
// the end-session endpoint.
func zitadelSignOut(t *testing.T, b *browser.Browser, a *app, z *zop.Provider, d session.Data, clientID string) url.Values {
	t.Helper()
	endpoint := op.At(z.URL).Discovery(t).EndSessionEndpoint
	if endpoint == "" {
		t.Fatal("zitadel's discovery has no end_session_endpoint")
	}
	b.ResetRequests()
	a.ResetResponses()
	b.Click("#logout")
	b.WaitURL("the app's home", func(u *url.URL) bool { return u.String() == a.URL+"/" })
	if !b.Exists("#home") || b.Text("#notice") != "" {
		t.Fatalf("after the logout the browser is at %s, notice %q", b.URL(), b.Text("#notice"))
	}
	checkLogoutResponse(t, a, signOutButton, http.MethodGet, endpoint)
	ends := b.RequestsTo(endpoint)
	if len(ends) != 1 || ends[0].Method != http.MethodGet || ends[0].Status != http.StatusFound {
		t.Fatalf("requests to zitadel's end_session_endpoint %v, want one GET answered 302", ends)
	}
	p := ends[0].Params()
	sent := p.Get("state")
	if p.Get("id_token_hint") != d.IDToken || p.Get("post_logout_redirect_uri") != a.URL+op.LoggedOutPath ||
		sent == "" || p.Get("client_id") != clientID {
		t.Errorf("end-session parameters %v, want the stored ID token, the landing URL, a state and client_id %s", keys(p), clientID)
	}
	lands := b.RequestsTo(a.URL + op.LoggedOutPath)
	if len(lands) != 1 {
		t.Fatalf("%d requests to the landing route, want 1", len(lands))
	}
	if got := lands[0].Query()["state"]; len(got) != 1 || got[0] != sent {
		t.Errorf("zitadel returned state %q, the app sent %q", got, sent)
	}
	landed := a.Response(http.MethodGet, op.LoggedOutPath)
	if landed.Status != http.StatusSeeOther || landed.Header.Get("Location") != "/" {
		t.Errorf("the landing answered %s, want 303 to /", landed)
	}
	if !strings.Contains(a.logs.String(), `"provider_state_checked":true`) {
		t.Error("the landing route did not check the state zitadel returned")
	}
	if left := appCookieNames(b); len(left) > 0 {
		t.Errorf("after the logout the browser still holds the app's cookies %v", left)
	}
	requireStep(t, a, "provider.end_session", true)
	// zitadel ended the session's tokens: its userinfo refuses the
	// access token (403, as zitadel answers a token it no longer has).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if status, _ := callUserinfo(ctx, op.At(z.URL).Discovery(t).UserinfoEndpoint, d.AccessToken); status != http.StatusUnauthorized && status != http.StatusForbidden {
		t.Errorf("after the logout zitadel's userinfo answers the access token with %d, want a refusal", status)
	}
	// The password is asked again.
	b.ResetRequests()
	b.Navigate(a.URL + "/profile")
	b.WaitVisible("#username")
	if cb := b.RequestsTo(a.URL + op.CallbackPath); len(cb) > 0 {
		t.Errorf("the browser was signed in again without a password: %v", cb)
	}
	return p
}

// TestZitadelLoginAndSignOut: login through zitadel's pages (a
// confidential client, HTTP Basic, PKCE, userinfo), then the sign-out
// button.
func TestZitadelLoginAndSignOut(t *testing.T) {
	a, z := zitadelApp(t, func(z *zop.Provider) providers.Provider {
		p := confidential(z)
		p.UserInfo = true // zitadel gives the email at userinfo only
		return p
	})
	b := browser.New(t)
	d := zitadelLogin(t, b, a, z)
	if d.IDToken == "" || d.AccessToken == "" || d.Issuer != z.URL || d.Email != "test-user@zitadel.ch" {
		t.Fatalf("session after the login: issuer %q, email %q, ID token %v", d.Issuer, d.Email, d.IDToken != "")
	}
	auth := b.RequestsTo(z.URL + "/authorize")
	if len(auth) == 0 {
		t.Fatal("the browser never went to zitadel's authorization endpoint")
	}
	if q := auth[0].Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("client_id") != zop.ConfidentialClientID {
		t.Errorf("authorization request %v", keys(q))
	}
	zitadelSignOut(t, b, a, z, d, zop.ConfidentialClientID)
}

// TestZitadelExpiredHintLogout: the session's ID token has expired and
// there is no refresh token; the stored, expired ID token is the hint,
// and zitadel accepts it and returns the state.
func TestZitadelExpiredHintLogout(t *testing.T) {
	a, z := zitadelApp(t, func(z *zop.Provider) providers.Provider {
		return providers.Zitadel(z.URL, zop.ShortClientID, zop.ShortClientSecret)
	})
	b := browser.New(t)
	d := zitadelLogin(t, b, a, z)
	if d.RefreshToken != "" {
		t.Fatal("the session has a refresh token: the hint would be refreshed")
	}
	wait := time.Until(d.IDTokenExpiry) + time.Second
	if wait > 2*zop.ShortIDTokenLifetime {
		t.Fatalf("the ID token expires at %s, not within %s", d.IDTokenExpiry, zop.ShortIDTokenLifetime)
	}
	time.Sleep(wait)
	b.Navigate(a.URL + "/profile")
	b.WaitVisible("#logout")
	zitadelSignOut(t, b, a, z, d, zop.ShortClientID)
	if !time.Now().After(d.IDTokenExpiry) {
		t.Error("the hint had not expired")
	}
	for _, r := range a.Reports() {
		for _, s := range r.Steps {
			if s.Name == "provider.refresh_id_token" {
				t.Errorf("a refresh for the hint was attempted: %+v", s)
			}
		}
	}
}

// TestZitadelPublicClient: a public client, with PKCE and no secret, logs
// in and out through zitadel.
func TestZitadelPublicClient(t *testing.T) {
	a, z := zitadelApp(t, func(z *zop.Provider) providers.Provider {
		return providers.Zitadel(z.URL, zop.PublicClientID, "")
	})
	b := browser.New(t)
	d := zitadelLogin(t, b, a, z)
	for _, r := range b.Requests() {
		if strings.Contains(r.URL, "client_secret") {
			t.Errorf("the browser carried a client secret: %s", r.URL)
		}
	}
	auth := b.RequestsTo(z.URL + "/authorize")
	if len(auth) == 0 || auth[0].Query().Get("code_challenge_method") != "S256" || auth[0].Query().Get("client_id") != zop.PublicClientID {
		t.Fatalf("authorization requests %v", auth)
	}
	zitadelSignOut(t, b, a, z, d, zop.PublicClientID)
}

// TestZitadelLocalOnlyFallback: a provider configured without an
// end_session_endpoint (zitadel's other endpoints given explicitly) logs
// out locally: home with the local-only notice, nothing sent to zitadel's
// end-session endpoint, no cookie of the app left.
func TestZitadelLocalOnlyFallback(t *testing.T) {
	a, z := zitadelApp(t, func(z *zop.Provider) providers.Provider {
		disc := op.At(z.URL).Discovery(t)
		p := confidential(z)
		p.Endpoints = providers.Endpoints{AuthURL: disc.AuthorizationEndpoint, TokenURL: disc.TokenEndpoint,
			JWKSURL: disc.JWKSURI, UserInfoURL: disc.UserinfoEndpoint}
		return p
	})
	b := browser.New(t)
	zitadelLogin(t, b, a, z)
	b.ResetRequests()
	b.Click("#logout")
	b.WaitURL("the app's home", func(u *url.URL) bool { return strings.HasPrefix(u.String(), a.URL+"/?") })
	if got := b.Text("#notice"); got != providers.NoticeLocalOnly {
		t.Errorf("notice %q, want %q", got, providers.NoticeLocalOnly)
	}
	if ends := b.RequestsTo(z.URL); len(ends) > 0 {
		t.Errorf("the browser went to zitadel: %v", ends)
	}
	if left := appCookieNames(b); len(left) > 0 {
		t.Errorf("after the logout the browser still holds the app's cookies %v", left)
	}
	requireStep(t, a, "provider.end_session", true)
}
