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

func TestAutoLogin(t *testing.T) {
	clk := newClock()
	op := start(t, devprovider.Config{AutoLogin: "alice", Now: clk.Now})
	r := newRP(t, op, defaultClient, webSecret, clk.Now)
	b := newBrowser(t)
	f := newFlow()
	cb := b.authorize(r, f)

	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != callbackURL {
		t.Errorf("redirected to %q, want %q", got, callbackURL)
	}
	q := cb.Query()
	if q.Get("state") != f.state || q.Get("iss") != op.Issuer() || q.Get("code") == "" {
		t.Errorf("callback query = %v, want state %q, iss %q and a code", q, f.state, op.Issuer())
	}

	tok, idt := r.exchange(t, f, q.Get("code"))
	if tok.TokenType != "Bearer" || tok.AccessToken == "" || tok.RefreshToken != "" {
		t.Errorf("token = %+v, want a Bearer access token and no refresh token", tok)
	}
	if got := tok.Extra("expires_in"); got != float64(300) {
		t.Errorf("expires_in = %v, want 300", got)
	}
	if got := tok.Extra("scope"); got != "openid profile email" {
		t.Errorf("scope = %v", got)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	now := float64(clk.Now().Unix())
	want := map[string]any{
		"iss": op.Issuer(), "sub": "alice", "aud": defaultClient, "azp": defaultClient,
		"iat": now, "exp": now + 300, "auth_time": now, "nonce": f.nonce,
		"email": "alice@example.com", "email_verified": true, "name": "Alice Liddell",
		"given_name": "Alice", "family_name": "Liddell",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %#v, want %#v", k, claims[k], v)
		}
	}
	if sid, _ := claims["sid"].(string); len(sid) < 16 {
		t.Errorf("sid = %q, want a random session ID", sid)
	}

	// The browser now has a provider session: the next login is silent, in
	// the same session, and keeps auth_time.
	clk.Add(time.Minute)
	f2 := newFlow()
	cb2 := b.authorize(r, f2, oauth2.SetAuthURLParam("prompt", "none"))
	_, idt2 := r.exchange(t, f2, cb2.Query().Get("code"))
	var claims2 map[string]any
	idt2.Claims(&claims2)
	if claims2["sid"] != claims["sid"] || claims2["auth_time"] != now {
		t.Errorf("silent login: sid %v auth_time %v, want %v and %v", claims2["sid"], claims2["auth_time"], claims["sid"], now)
	}
}

func TestAudienceArray(t *testing.T) {
	c := webClient()
	c.AudienceArray = true
	op := start(t, devprovider.Config{AutoLogin: "alice", Clients: []devprovider.Client{c}})
	r := newRP(t, op, defaultClient, webSecret, nil)
	_, idt := loginAndExchange(t, newBrowser(t), r)
	var claims struct {
		Aud []string `json:"aud"`
		Azp string   `json:"azp"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatalf("aud is not an array: %v", err)
	}
	if len(claims.Aud) != 1 || claims.Aud[0] != defaultClient || claims.Azp != defaultClient {
		t.Errorf("aud %q azp %q", claims.Aud, claims.Azp)
	}
}

func TestLoginForm(t *testing.T) {
	op := start(t, devprovider.Config{})
	r := newRP(t, op, defaultClient, webSecret, nil)
	b := newBrowser(t)
	f := newFlow()

	page := b.get(r.authURL(f, oauth2.SetAuthURLParam("login_hint", "alice")))
	if page.status != http.StatusOK || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("authorize: status %d, Content-Type %q", page.status, page.header.Get("Content-Type"))
	}
	for _, part := range []string{`id="username"`, `value="alice"`, `id="password"`, `id="submit"`, `<strong>web</strong>`} {
		if !strings.Contains(page.body, part) {
			t.Errorf("login page lacks %s:\n%s", part, page.body)
		}
	}
	action, form := loginForm(t, page.body)
	if action != op.Issuer()+"/login" {
		t.Errorf("form action = %q", action)
	}
	if form.Get("state") != f.state || form.Get("nonce") != f.nonce || form.Get("redirect_uri") != callbackURL ||
		form.Get("code_challenge") != oauth2.S256ChallengeFromVerifier(f.verifier) {
		t.Errorf("hidden fields = %v", form)
	}

	form.Set("username", "alice")
	form.Set("password", "wrong")
	bad := b.post(action, form)
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "Wrong username or password.") {
		t.Fatalf("wrong password: status %d, body:\n%s", bad.status, bad.body)
	}
	if bad.header.Get("Set-Cookie") != "" {
		t.Errorf("wrong password set a cookie: %q", bad.header.Get("Set-Cookie"))
	}

	form.Set("password", "alice")
	ok := b.post(action, form)
	if ok.status != http.StatusSeeOther {
		t.Fatalf("login: status %d, want 303; body:\n%s", ok.status, ok.body)
	}
	cookie := ok.header.Get("Set-Cookie")
	name := op.SessionCookieName()
	if !strings.HasPrefix(cookie, name+"=") || !strings.HasSuffix(cookie, "; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax") {
		t.Errorf("Set-Cookie = %q, want %s with Path=/, Max-Age=3600, HttpOnly, SameSite=Lax", cookie, name)
	}
	cb := ok.location(t)
	if cb.Query().Get("state") != f.state || cb.Query().Get("iss") != op.Issuer() {
		t.Errorf("callback query = %v", cb.Query())
	}
	_, idt := r.exchange(t, f, cb.Query().Get("code"))
	if idt.Subject != "alice" {
		t.Errorf("sub = %q", idt.Subject)
	}
}

func TestCustomUsers(t *testing.T) {
	op := start(t, devprovider.Config{
		Users: []devprovider.User{
			{Username: "bob", Password: "pw", Subject: "248289761001", Claims: map[string]any{"email": "bob@example.com", "sub": "ignored"}},
		},
		AutoLogin: "bob",
	})
	r := newRP(t, op, defaultClient, webSecret, nil)
	tok, idt := loginAndExchange(t, newBrowser(t), r)
	var claims map[string]any
	idt.Claims(&claims)
	if idt.Subject != "248289761001" || claims["email"] != "bob@example.com" || claims["name"] != nil {
		t.Errorf("claims = %v", claims)
	}
	info, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != "248289761001" || info.Email != "bob@example.com" {
		t.Errorf("userinfo = %+v", info)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	public := devprovider.Client{ID: "spa", AuthMethod: devprovider.AuthNone, RedirectURIs: []string{callbackURL}}
	op := start(t, devprovider.Config{Clients: []devprovider.Client{webClient(), public}})
	base := url.Values{
		"client_id":             {defaultClient},
		"redirect_uri":          {callbackURL},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"state":                 {"st"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"},
	}
	tests := []struct {
		name   string
		edit   func(url.Values)
		status int    // 400 page or 302 to the client
		error  string // the error parameter when redirected
	}{
		{"unknown client", func(v url.Values) { v.Set("client_id", "nobody") }, http.StatusBadRequest, ""},
		{"unregistered redirect_uri", func(v url.Values) { v.Set("redirect_uri", callbackURL+"/") }, http.StatusBadRequest, ""},
		{"missing redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, http.StatusBadRequest, ""},
		{"implicit flow", func(v url.Values) { v.Set("response_type", "id_token") }, http.StatusFound, "unsupported_response_type"},
		{"no openid scope", func(v url.Values) { v.Set("scope", "profile") }, http.StatusFound, "invalid_scope"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, http.StatusFound, "invalid_request"},
		{"PKCE method missing", func(v url.Values) { v.Del("code_challenge_method") }, http.StatusFound, "invalid_request"},
		{"short challenge", func(v url.Values) { v.Set("code_challenge", "abc") }, http.StatusFound, "invalid_request"},
		{"public client without PKCE", func(v url.Values) {
			v.Set("client_id", "spa")
			v.Del("code_challenge")
			v.Del("code_challenge_method")
		}, http.StatusFound, "invalid_request"},
		{"prompt none without session", func(v url.Values) { v.Set("prompt", "none") }, http.StatusFound, "login_required"},
		{"bad max_age", func(v url.Values) { v.Set("max_age", "soon") }, http.StatusFound, "invalid_request"},
		{"request object", func(v url.Values) { v.Set("request", "eyJ") }, http.StatusFound, "request_not_supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range base {
				v[k] = append([]string(nil), vs...)
			}
			tc.edit(v)
			resp := newBrowser(t).get(op.Issuer() + "/authorize?" + v.Encode())
			if resp.status != tc.status {
				t.Fatalf("status = %d, want %d; body:\n%s", resp.status, tc.status, resp.body)
			}
			if tc.status == http.StatusBadRequest {
				if loc := resp.header.Get("Location"); loc != "" {
					t.Errorf("redirected to %q", loc)
				}
				return
			}
			q := resp.location(t).Query()
			if q.Get("error") != tc.error || q.Get("state") != "st" || q.Get("iss") != op.Issuer() ||
				q.Get("error_description") == "" || q.Has("code") {
				t.Errorf("error redirect query = %v, want error %q with state, iss, description", q, tc.error)
			}
		})
	}
}

func TestPromptLoginAndMaxAge(t *testing.T) {
	clk := newClock()
	op := start(t, devprovider.Config{Now: clk.Now})
	r := newRP(t, op, defaultClient, webSecret, clk.Now)
	b := newBrowser(t)

	// Sign in through the form.
	page := b.get(r.authURL(newFlow()))
	action, form := loginForm(t, page.body)
	form.Set("username", "alice")
	form.Set("password", "alice")
	if resp := b.post(action, form); resp.status != http.StatusSeeOther {
		t.Fatalf("login: status %d", resp.status)
	}

	clk.Add(2 * time.Minute)
	tests := []struct {
		name  string
		opts  []oauth2.AuthCodeOption
		login bool // the login page is shown
	}{
		{"session", nil, false},
		{"prompt=login", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login")}, true},
		{"max_age not reached", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "120")}, false},
		{"max_age passed", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "119")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.get(r.authURL(newFlow(), tc.opts...))
			if got := resp.status == http.StatusOK && strings.Contains(resp.body, `id="password"`); got != tc.login {
				t.Errorf("login page shown = %v, want %v (status %d)", got, tc.login, resp.status)
			}
		})
	}
}
