package op_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/e2e/internal/op"
)

func TestSharedProviderDiscovery(t *testing.T) {
	o := op.Shared(t)
	checkDiscovery(t, o)
}

func checkDiscovery(t *testing.T, o *op.OP) op.Discovery {
	t.Helper()
	d := o.Discovery(t)
	if d.Issuer != o.URL {
		t.Errorf("issuer %q, want %q", d.Issuer, o.URL)
	}
	if !strings.HasPrefix(o.URL, "http://127.0.0.1:") {
		t.Errorf("issuer %q is not on 127.0.0.1", o.URL)
	}
	if d.EndSessionEndpoint == "" {
		t.Error("no end_session_endpoint")
	}
	if d.RevocationEndpoint == "" {
		t.Error("no revocation_endpoint")
	}
	if !d.BackchannelLogoutSupported || !d.BackchannelLogoutSessionSupported {
		t.Error("back-channel logout (with sid) is not supported")
	}
	if !contains(d.IDTokenSigningAlgValuesSupported, "RS256") || !contains(d.CodeChallengeMethodsSupported, "S256") {
		t.Errorf("want RS256 ID tokens and S256 PKCE, got %v and %v", d.IDTokenSigningAlgValuesSupported, d.CodeChallengeMethodsSupported)
	}
	return d
}

// backchannel is the app's back-channel logout endpoint: it records the
// logout tokens, and answers 500 while failing is set.
type backchannel struct {
	mu      sync.Mutex
	tokens  []string
	failing atomic.Bool
}

func (b *backchannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("logout_token") == "" {
		http.Error(w, "bad logout request", http.StatusBadRequest)
		return
	}
	if b.failing.Load() {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	b.mu.Lock()
	b.tokens = append(b.tokens, r.PostForm.Get("logout_token"))
	b.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
}

func (b *backchannel) take(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(op.DefaultTimeout)
	for {
		b.mu.Lock()
		if len(b.tokens) >= n {
			got := b.tokens
			b.tokens = nil
			b.mu.Unlock()
			return got
		}
		b.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("want %d logout tokens, got fewer", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPrivateProviderFlows proves the provider configuration over plain
// HTTP, on a private provider whose app is an httptest server.
func TestPrivateProviderFlows(t *testing.T) {
	bc := &backchannel{}
	mux := http.NewServeMux()
	mux.Handle(op.BackchannelLogoutPath, bc)
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)

	o := op.Start(t, op.Config{AppURLs: []string{app.URL}, AccessTokenTTL: 5 * time.Second, IDTokenTTL: 7 * time.Second})
	d := checkDiscovery(t, o)
	ctx := context.Background()

	confidential := &oauth2.Config{
		ClientID:     op.ConfidentialClientID,
		ClientSecret: op.ConfidentialClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL:  app.URL + op.CallbackPath,
		Scopes:       []string{"openid", "profile", "email"},
	}
	public := *confidential
	public.ClientID, public.ClientSecret = op.PublicClientID, ""
	public.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	// The public client gets a refresh token only with offline_access,
	// which needs prompt=consent (OpenID Connect Core §11).
	public.Scopes = append(slices.Clone(public.Scopes), "offline_access")

	// login runs the code flow for login and returns the token response.
	login := func(t *testing.T, ua *op.UserAgent, cfg *oauth2.Config, login string, pkce bool) (*oauth2.Token, map[string]any) {
		t.Helper()
		state, nonce := random(), random()
		opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", nonce)}
		if slices.Contains(cfg.Scopes, "offline_access") {
			opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
		}
		verifier := oauth2.GenerateVerifier()
		if pkce {
			opts = append(opts, oauth2.S256ChallengeOption(verifier))
		}
		back := ua.Authorize(t, cfg.AuthCodeURL(state, opts...), login, "any password")
		if got := back.Scheme + "://" + back.Host + back.Path; got != cfg.RedirectURL {
			t.Fatalf("redirected to %s, want %s", back, cfg.RedirectURL)
		}
		q := back.Query()
		if q.Get("error") != "" || q.Get("state") != state || q.Get("iss") != o.URL || q.Get("code") == "" {
			t.Fatalf("bad authorization response %s", back)
		}
		var xopts []oauth2.AuthCodeOption
		if pkce {
			xopts = append(xopts, oauth2.VerifierOption(verifier))
		}
		tok, err := cfg.Exchange(ctx, q.Get("code"), xopts...)
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		idt, _ := tok.Extra("id_token").(string)
		claims := o.VerifyJWT(t, idt)
		if claims["nonce"] != nonce || claims["aud"] != cfg.ClientID || claims["iss"] != o.URL || claims["sub"] != login {
			t.Fatalf("bad ID token claims %v", claims)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token on the code grant")
		}
		return tok, claims
	}

	t.Run("confidential client: claims, refresh, revocation", func(t *testing.T) {
		mark := o.Mark(t)
		tok, claims := login(t, o.NewUserAgent(), confidential, "alice", false)
		if claims["email"] != "alice@example.test" || claims["name"] != "Alice Example" || claims["sid"] == nil {
			t.Fatalf("the ID token lacks profile/email/sid claims: %v", claims)
		}
		if ttl := claims["exp"].(float64) - claims["iat"].(float64); ttl != 7 {
			t.Fatalf("ID token lifetime %vs, want IDT_TTL=7", ttl)
		}
		if life := time.Until(tok.Expiry); life > 6*time.Second {
			t.Fatalf("access token lives %v, want AT_TTL=5s", life)
		}
		o.WaitEvent(t, mark, "grant.success", func(e op.Event) bool {
			return e.Str("grant_type") == "authorization_code" && e.Str("client_id") == op.ConfidentialClientID && e.Str("account_id") == "alice"
		})

		// Refresh: the refresh token rotates.
		mark = o.Mark(t)
		old := tok.RefreshToken
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := confidential.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if fresh.RefreshToken == "" || fresh.RefreshToken == old {
			t.Fatalf("refresh token did not rotate")
		}
		o.WaitEvent(t, mark, "grant.success", func(e op.Event) bool { return e.Str("grant_type") == "refresh_token" })
		o.WaitEvent(t, mark, "refresh_token.consumed", nil)

		// Revocation of the refresh token ends the grant.
		mark = o.Mark(t)
		if status := o.Revoke(t, op.ConfidentialClientID, op.ConfidentialClientSecret, fresh.RefreshToken, "refresh_token"); status != http.StatusOK {
			t.Fatalf("revocation status %d", status)
		}
		o.WaitEvent(t, mark, "http.request", func(e op.Event) bool { return e.Str("route") == "revocation" && e.Int("status") == 200 })
		o.WaitEvent(t, mark, "refresh_token.destroyed", nil)
		fresh.Expiry = time.Now().Add(-time.Minute)
		if _, err := confidential.TokenSource(ctx, fresh).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("refresh with a revoked token: %v, want invalid_grant", err)
		}
		o.WaitEvent(t, mark, "grant.error", nil)
	})

	t.Run("public client needs PKCE", func(t *testing.T) {
		ua := o.NewUserAgent()
		back := ua.Authorize(t, public.AuthCodeURL(random()), "bob", "pw")
		if back.Query().Get("error") != "invalid_request" {
			t.Fatalf("authorization without PKCE: got %s, want error=invalid_request", back)
		}
		login(t, ua, &public, "bob", true)
	})

	t.Run("bigclaims makes an ID token over 4 KB", func(t *testing.T) {
		tok, claims := login(t, o.NewUserAgent(), confidential, op.BigClaimsLogin, false)
		if n := len(tok.Extra("id_token").(string)); n <= 8000 {
			t.Fatalf("ID token is %d bytes, want > 8000 (over 4 KB, as README says)", n)
		}
		if groups, _ := claims["groups"].([]any); len(groups) == 0 {
			t.Fatal("no groups claim in the big ID token")
		}
	})

	t.Run("RP-initiated logout sends a back-channel logout", func(t *testing.T) {
		ua := o.NewUserAgent()
		tok, claims := login(t, ua, confidential, "carol", false)
		mark := o.Mark(t)
		state := random()
		back := ua.EndSession(t, url.Values{
			"id_token_hint":            {tok.Extra("id_token").(string)},
			"post_logout_redirect_uri": {app.URL + op.LoggedOutPath},
			"state":                    {state},
		}, true)
		if back.Path != op.LoggedOutPath || back.Query().Get("state") != state {
			t.Fatalf("post-logout redirect %s, want %s?state=%s", back, op.LoggedOutPath, state)
		}
		lt := o.VerifyJWT(t, bc.take(t, 1)[0])
		checkLogoutToken(t, lt, op.ConfidentialClientID, "carol", claims["sid"])
		o.WaitEvent(t, mark, "end_session.success", func(e op.Event) bool { return e.Bool("signed_out_of_op") })
		o.WaitEvent(t, mark, "backchannel.success", func(e op.Event) bool {
			return e.Str("sid") == claims["sid"] && e.Str("via") == "end_session"
		})
		o.WaitEvent(t, mark, "http.request", func(e op.Event) bool {
			return e.Str("route") == "end_session" && e.Bool("id_token_hint") && e.Str("state") == state
		})
	})

	t.Run("logout elsewhere: admin route", func(t *testing.T) {
		ua := o.NewUserAgent()
		tok, claims := login(t, ua, confidential, "dave", false)
		_, pubClaims := login(t, ua, &public, "dave", true) // same provider session, second client
		mark := o.Mark(t)
		res := o.Logout(t, "dave")
		if res.Sessions != 1 || len(res.Backchannel) != 2 {
			t.Fatalf("admin logout: %+v, want 1 session and 2 notifications", res)
		}
		for _, n := range res.Backchannel {
			if !n.OK {
				t.Fatalf("notification failed: %+v", n)
			}
		}
		sids := map[any]bool{claims["sid"]: true, pubClaims["sid"]: true}
		for _, raw := range bc.take(t, 2) {
			lt := o.VerifyJWT(t, raw)
			if !sids[lt["sid"]] {
				t.Fatalf("logout token for an unknown sid: %v", lt)
			}
			checkLogoutToken(t, lt, lt["aud"].(string), "dave", lt["sid"])
		}
		o.WaitEvent(t, mark, "backchannel.success", func(e op.Event) bool { return e.Str("via") == "admin" })
		o.WaitEvent(t, mark, "session.destroyed", nil)
		o.WaitEvent(t, mark, "admin.logout", nil)
		tok.Expiry = time.Now().Add(-time.Minute)
		if _, err := confidential.TokenSource(ctx, tok).Token(); err == nil {
			t.Fatal("refresh after the admin logout worked; the grant should be revoked")
		}
	})

	t.Run("back-channel failure is logged", func(t *testing.T) {
		ua := o.NewUserAgent()
		_, claims := login(t, ua, confidential, "erin", false)
		bc.failing.Store(true)
		defer bc.failing.Store(false)
		mark := o.Mark(t)
		res := o.LogoutSID(t, claims["sid"].(string))
		if res.Sessions != 1 || len(res.Backchannel) != 1 || res.Backchannel[0].OK {
			t.Fatalf("admin logout against a failing app: %+v", res)
		}
		o.WaitEvent(t, mark, "backchannel.error", func(e op.Event) bool { return strings.Contains(e.Str("error_description"), "500") })
	})

	t.Run("logout token for the test to post", func(t *testing.T) {
		lt := o.VerifyJWT(t, o.LogoutToken(t, op.PublicClientID, "frank", "some-sid"))
		checkLogoutToken(t, lt, op.PublicClientID, "frank", "some-sid")
		sidOnly := o.VerifyJWT(t, o.LogoutToken(t, op.ConfidentialClientID, "", "only-sid"))
		if sidOnly["sub"] != nil || sidOnly["sid"] != "only-sid" {
			t.Fatalf("sid-only logout token %v", sidOnly)
		}
	})
}

func checkLogoutToken(t *testing.T, lt map[string]any, aud, sub string, sid any) {
	t.Helper()
	events, _ := lt["events"].(map[string]any)
	if _, ok := events["http://schemas.openid.net/event/backchannel-logout"]; !ok {
		t.Fatalf("logout token without the back-channel event: %v", lt)
	}
	if lt["aud"] != aud || lt["sub"] != sub || lt["sid"] != sid || lt["jti"] == nil || lt["nonce"] != nil {
		t.Fatalf("logout token %v, want aud=%s sub=%s sid=%v", lt, aud, sub, sid)
	}
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestExpiredIDTokenHintIsAccepted: the provider takes an expired ID token
// as id_token_hint (it ignores exp there), so the "logout after the ID token
// expired" scenario can run with a private provider and a short IDT_TTL.
func TestExpiredIDTokenHintIsAccepted(t *testing.T) {
	bc := &backchannel{}
	mux := http.NewServeMux()
	mux.Handle(op.BackchannelLogoutPath, bc)
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	o := op.Start(t, op.Config{AppURLs: []string{app.URL}, IDTokenTTL: time.Second})
	d := o.Discovery(t)
	cfg := &oauth2.Config{
		ClientID:     op.ConfidentialClientID,
		ClientSecret: op.ConfidentialClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL:  app.URL + op.CallbackPath,
		Scopes:       []string{"openid"},
	}
	ua := o.NewUserAgent()
	back := ua.Authorize(t, cfg.AuthCodeURL("s"), "gina", "pw")
	tok, err := cfg.Exchange(context.Background(), back.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	idt := tok.Extra("id_token").(string)
	exp := time.Unix(int64(op.Claims(t, idt)["exp"].(float64)), 0)
	time.Sleep(time.Until(exp) + 1100*time.Millisecond)

	state := random()
	loc := ua.EndSession(t, url.Values{
		"id_token_hint":            {idt},
		"post_logout_redirect_uri": {app.URL + op.LoggedOutPath},
		"state":                    {state},
	}, true)
	if loc.Path != op.LoggedOutPath || loc.Query().Get("state") != state {
		t.Fatalf("logout with an expired hint landed on %s", loc)
	}
	bc.take(t, 1)
}
