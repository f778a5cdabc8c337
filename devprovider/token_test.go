package devprovider_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
)

// userinfoStatus calls userinfo with accessToken and returns the status.
func userinfoStatus(t *testing.T, op *devprovider.Server, accessToken string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, op.Issuer()+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCodeErrors(t *testing.T) {
	clk := newClock()
	other := devprovider.Client{ID: "other", Secret: "other-secret", RedirectURIs: []string{callbackURL}}
	op := start(t, devprovider.Config{AutoLogin: "alice", Now: clk.Now, Clients: []devprovider.Client{webClient(), other}})
	r := newRP(t, op, defaultClient, webSecret, clk.Now)
	b := newBrowser(t)
	ctx := context.Background()

	tests := []struct {
		name     string
		exchange func(code string, f flow) error
		want     string
	}{
		{"wrong verifier", func(code string, f flow) error {
			_, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
			return err
		}, "invalid_grant"},
		{"missing verifier", func(code string, f flow) error {
			_, err := r.conf.Exchange(ctx, code)
			return err
		}, "invalid_grant"},
		{"other redirect_uri", func(code string, f flow) error {
			conf := *r.conf
			conf.RedirectURL = afterLogout
			_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
			return err
		}, "invalid_grant"},
		{"other client", func(code string, f flow) error {
			conf := *r.conf
			conf.ClientID, conf.ClientSecret = "other", "other-secret"
			_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
			return err
		}, "invalid_grant"},
		{"expired code", func(code string, f flow) error {
			clk.Add(61 * time.Second)
			_, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
			return err
		}, "invalid_grant"},
		{"unknown code", func(code string, f flow) error {
			_, err := r.conf.Exchange(ctx, "nope", oauth2.VerifierOption(f.verifier))
			return err
		}, "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFlow()
			code := b.authorize(r, f).Query().Get("code")
			err := tc.exchange(code, f)
			if err == nil {
				t.Fatal("exchange succeeded")
			}
			if re := retrieveError(t, err); re.ErrorCode != tc.want || re.Response.StatusCode != http.StatusBadRequest {
				t.Errorf("error %q status %d, want %q 400", re.ErrorCode, re.Response.StatusCode, tc.want)
			}
		})
	}
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice", RefreshTokens: devprovider.RefreshAlways})
	r := newRP(t, op, defaultClient, webSecret, nil)
	b := newBrowser(t)
	f := newFlow()
	code := b.authorize(r, f).Query().Get("code")
	tok, _ := r.exchange(t, f, code)
	if got := userinfoStatus(t, op, tok.AccessToken); got != http.StatusOK {
		t.Fatalf("userinfo before replay: %d", got)
	}

	_, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" || re.ErrorDescription != "code was already used" {
		t.Fatalf("replay: %q %q", re.ErrorCode, re.ErrorDescription)
	}
	if got := userinfoStatus(t, op, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("userinfo after replay: %d, want 401", got)
	}
	tok.Expiry = time.Now().Add(-time.Second)
	if _, err := r.conf.TokenSource(context.Background(), tok).Token(); err == nil {
		t.Error("refresh token still works after the code was replayed")
	}
}

func TestClientAuthentication(t *testing.T) {
	post := devprovider.Client{ID: "post", Secret: "post-secret", AuthMethod: devprovider.AuthSecretPost, RedirectURIs: []string{callbackURL}}
	public := devprovider.Client{ID: "spa", AuthMethod: devprovider.AuthNone, RedirectURIs: []string{callbackURL}}
	op := start(t, devprovider.Config{AutoLogin: "alice", Clients: []devprovider.Client{webClient(), post, public}})
	b := newBrowser(t)
	tests := []struct {
		name, client, secret string
		style                oauth2.AuthStyle
		want                 string // the error code, "" for success
	}{
		{"basic client with basic", defaultClient, webSecret, oauth2.AuthStyleInHeader, ""},
		{"basic client with post", defaultClient, webSecret, oauth2.AuthStyleInParams, "invalid_client"},
		{"basic client, wrong secret", defaultClient, "nope", oauth2.AuthStyleInHeader, "invalid_client"},
		{"post client with post", "post", "post-secret", oauth2.AuthStyleInParams, ""},
		{"post client with basic", "post", "post-secret", oauth2.AuthStyleInHeader, "invalid_client"},
		{"post client without secret", "post", "", oauth2.AuthStyleInParams, "invalid_client"},
		{"public client", "spa", "", oauth2.AuthStyleInParams, ""},
		{"public client with a secret", "spa", "made-up", oauth2.AuthStyleInParams, "invalid_client"},
		{"public client with basic", "spa", "made-up", oauth2.AuthStyleInHeader, "invalid_client"},
		{"unknown client", "nobody", "x", oauth2.AuthStyleInHeader, "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRP(t, op, tc.client, tc.secret, nil)
			r.conf.Endpoint.AuthStyle = tc.style
			f := newFlow()
			// Unknown clients get no code; the client is checked first.
			code := "irrelevant"
			if tc.client != "nobody" {
				code = b.authorize(r, f).Query().Get("code")
			}
			_, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				return
			}
			re := retrieveError(t, err)
			if re.ErrorCode != tc.want || re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("error %q status %d, want %q 401", re.ErrorCode, re.Response.StatusCode, tc.want)
			}
		})
	}
}

func TestRefreshPolicy(t *testing.T) {
	tests := []struct {
		policy  devprovider.RefreshPolicy
		offline bool
		want    bool
	}{
		{devprovider.RefreshOfflineAccess, false, false},
		{devprovider.RefreshOfflineAccess, true, true},
		{devprovider.RefreshAlways, false, true},
		{devprovider.RefreshNever, true, false},
	}
	for _, tc := range tests {
		op := start(t, devprovider.Config{AutoLogin: "alice", RefreshTokens: tc.policy})
		r := newRP(t, op, defaultClient, webSecret, nil)
		if tc.offline {
			r.conf.Scopes = append(r.conf.Scopes, "offline_access")
		}
		tok, _ := loginAndExchange(t, newBrowser(t), r)
		if got := tok.RefreshToken != ""; got != tc.want {
			t.Errorf("policy %d, offline_access %v: refresh token issued = %v, want %v", tc.policy, tc.offline, got, tc.want)
		}
	}
}

func TestRefreshRotation(t *testing.T) {
	clk := newClock()
	op := start(t, devprovider.Config{AutoLogin: "alice", Now: clk.Now})
	r := newRP(t, op, defaultClient, webSecret, clk.Now)
	r.conf.Scopes = append(r.conf.Scopes, "offline_access")
	tok, idt := loginAndExchange(t, newBrowser(t), r)
	var first map[string]any
	idt.Claims(&first)

	clk.Add(10 * time.Minute)
	tok.Expiry = time.Now().Add(-time.Second) // x/oauth2 reads the real clock
	ctx := context.Background()
	fresh, err := r.conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if got := fresh.Extra("scope"); got != "openid profile email offline_access" {
		t.Errorf("scope = %v", got)
	}
	raw, _ := fresh.Extra("id_token").(string)
	idt2, err := r.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var second map[string]any
	idt2.Claims(&second)
	if second["sid"] != first["sid"] || second["auth_time"] != first["auth_time"] || second["sub"] != "alice" {
		t.Errorf("refreshed claims sid %v auth_time %v, want %v %v", second["sid"], second["auth_time"], first["sid"], first["auth_time"])
	}
	if second["iat"] != float64(clk.Now().Unix()) || second["nonce"] != nil {
		t.Errorf("refreshed iat %v nonce %v, want %d and no nonce", second["iat"], second["nonce"], clk.Now().Unix())
	}
	if got := userinfoStatus(t, op, fresh.AccessToken); got != http.StatusOK {
		t.Errorf("userinfo with refreshed access token: %d", got)
	}

	// Reusing the rotated refresh token fails and revokes the new ones too.
	_, err = r.conf.TokenSource(ctx, tok).Token()
	if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" || re.ErrorDescription != "refresh token was already used" {
		t.Fatalf("reuse: %q %q", re.ErrorCode, re.ErrorDescription)
	}
	if got := userinfoStatus(t, op, fresh.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("userinfo after reuse: %d, want 401", got)
	}
	fresh.Expiry = time.Now().Add(-time.Second)
	if _, err := r.conf.TokenSource(ctx, fresh).Token(); err == nil {
		t.Error("the rotated-to refresh token still works after reuse")
	}
}

func TestRefreshScope(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice", RefreshTokens: devprovider.RefreshAlways})
	r := newRP(t, op, defaultClient, webSecret, nil)
	tok, _ := loginAndExchange(t, newBrowser(t), r)
	refresh := func(scope string) (*http.Response, error) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {scope}}
		req, _ := http.NewRequest(http.MethodPost, op.Issuer()+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(defaultClient, webSecret)
		return http.DefaultClient.Do(req)
	}
	resp, err := refresh("openid admin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("widened scope: status %d, want 400", resp.StatusCode)
	}
	resp, err = refresh("openid")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("narrowed scope: status %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

func TestUserInfo(t *testing.T) {
	clk := newClock()
	op := start(t, devprovider.Config{AutoLogin: "alice", Now: clk.Now})
	r := newRP(t, op, defaultClient, webSecret, clk.Now)
	tok, _ := loginAndExchange(t, newBrowser(t), r)
	ctx := context.Background()

	info, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != "alice" || info.Email != "alice@example.com" || !info.EmailVerified {
		t.Errorf("userinfo = %+v", info)
	}

	op.SetUserClaims("alice", map[string]any{"email": "alice@example.org", "name": nil, "groups": []string{"admins"}})
	info, err = r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	info.Claims(&claims)
	if claims["email"] != "alice@example.org" || claims["name"] != nil || claims["given_name"] != "Alice" {
		t.Errorf("after SetUserClaims, userinfo = %v", claims)
	}

	if got := userinfoStatus(t, op, "not-a-token"); got != http.StatusUnauthorized {
		t.Errorf("unknown token: %d, want 401", got)
	}
	clk.Add(5 * time.Minute)
	if got := userinfoStatus(t, op, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", got)
	}
}

func TestBigIDToken(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice"})
	op.SetUserClaims("alice", map[string]any{"blob": strings.Repeat("x", 6000)})
	r := newRP(t, op, defaultClient, webSecret, nil)
	tok, idt := loginAndExchange(t, newBrowser(t), r)
	if raw := tok.Extra("id_token").(string); len(raw) < 8000 {
		t.Errorf("ID token is %d bytes, want more than 8000", len(raw))
	}
	var claims struct {
		Blob  string `json:"blob"`
		Email string `json:"email"`
	}
	idt.Claims(&claims)
	if len(claims.Blob) != 6000 || claims.Email != "alice@example.com" {
		t.Errorf("blob %d bytes, email %q", len(claims.Blob), claims.Email)
	}
}

func TestRevocation(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice", RefreshTokens: devprovider.RefreshAlways})
	r := newRP(t, op, defaultClient, webSecret, nil)
	b := newBrowser(t)
	revoke := func(token, hint, secret string) int {
		form := url.Values{"token": {token}}
		if hint != "" {
			form.Set("token_type_hint", hint)
		}
		req, _ := http.NewRequest(http.MethodPost, op.Issuer()+"/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(defaultClient, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	refreshWorks := func(tok *oauth2.Token) bool {
		tok.Expiry = time.Now().Add(-time.Second)
		_, err := r.conf.TokenSource(context.Background(), tok).Token()
		return err == nil
	}

	// A refresh token: it and the grant's access tokens die.
	tok, _ := loginAndExchange(t, b, r)
	if got := revoke(tok.RefreshToken, "refresh_token", webSecret); got != http.StatusOK {
		t.Fatalf("revoke refresh token: %d", got)
	}
	if refreshWorks(tok) {
		t.Error("revoked refresh token still works")
	}
	if got := userinfoStatus(t, op, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("access token after its refresh token was revoked: %d, want 401", got)
	}

	// An access token, with a wrong hint: only it dies.
	tok, _ = loginAndExchange(t, b, r)
	if got := revoke(tok.AccessToken, "refresh_token", webSecret); got != http.StatusOK {
		t.Fatalf("revoke access token: %d", got)
	}
	if got := userinfoStatus(t, op, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("revoked access token: %d, want 401", got)
	}
	if !refreshWorks(tok) {
		t.Error("refresh token died with its access token")
	}

	if got := revoke("unknown", "", webSecret); got != http.StatusOK {
		t.Errorf("unknown token: %d, want 200", got)
	}
	if got := revoke("unknown", "", "wrong"); got != http.StatusUnauthorized {
		t.Errorf("wrong client secret: %d, want 401", got)
	}
}
