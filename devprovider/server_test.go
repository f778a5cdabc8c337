package devprovider_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
)

func TestDiscovery(t *testing.T) {
	op := start(t, devprovider.Config{})
	iss := op.Issuer()
	if !strings.HasPrefix(iss, "http://127.0.0.1:") {
		t.Fatalf("Issuer() = %q, want http://127.0.0.1:PORT", iss)
	}
	provider, err := oidc.NewProvider(context.Background(), iss)
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	var doc map[string]any
	if err := provider.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"userinfo_endpoint":                              iss + "/userinfo",
		"jwks_uri":                                       iss + "/jwks",
		"end_session_endpoint":                           iss + "/end_session",
		"revocation_endpoint":                            iss + "/revoke",
		"response_types_supported":                       []any{"code"},
		"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []any{"S256"},
		"id_token_signing_alg_values_supported":          []any{"RS256"},
		"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		"pushed_authorization_request_endpoint":          iss + "/par",
		"require_pushed_authorization_requests":          false,
		"scopes_supported":                               []any{"openid", "profile", "email", "offline_access"},
		"authorization_response_iss_parameter_supported": true,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"frontchannel_logout_supported":                  true,
		"frontchannel_logout_session_supported":          true,
	}
	for k, v := range want {
		if !reflect.DeepEqual(doc[k], v) {
			t.Errorf("%s = %#v, want %#v", k, doc[k], v)
		}
	}
	claims, _ := doc["claims_supported"].([]any)
	for _, c := range []string{"sub", "sid", "email", "email_verified", "name", "given_name", "family_name"} {
		if !slices.Contains(claims, any(c)) {
			t.Errorf("claims_supported %v lacks %q", claims, c)
		}
	}
	if got := provider.Endpoint().AuthURL; got != iss+"/authorize" {
		t.Errorf("AuthURL = %q", got)
	}
}

// TestIssuerWithPath mounts the provider under a path with a trailing-slash
// issuer, as some providers have.
func TestIssuerWithPath(t *testing.T) {
	op, err := devprovider.New(devprovider.Config{
		Clients:   []devprovider.Client{webClient()},
		AutoLogin: "alice",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/op/", op)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	op.SetIssuer(srv.URL + "/op/")

	r := newRP(t, op, defaultClient, webSecret, nil)
	if got, want := r.conf.Endpoint.TokenURL, srv.URL+"/op/token"; got != want {
		t.Fatalf("token endpoint = %q, want %q", got, want)
	}
	b := newBrowser(t)
	_, idt := loginAndExchange(t, b, r)
	if idt.Issuer != srv.URL+"/op/" {
		t.Errorf("iss = %q, want %q", idt.Issuer, srv.URL+"/op/")
	}
	if !slices.ContainsFunc(op.Requests(), func(req devprovider.Request) bool { return req.Path == "/op/authorize" }) {
		t.Errorf("no /op/authorize request recorded in %v", op.Requests())
	}
}

func TestIssuerNotSet(t *testing.T) {
	op, err := devprovider.New(devprovider.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(op)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", resp.StatusCode)
	}
}

func TestJWKS(t *testing.T) {
	op := start(t, devprovider.Config{})
	keys := func() []string {
		resp, err := http.Get(op.Issuer() + "/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct {
			Keys []struct{ Kty, Kid, Alg, Use, N, E string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		var kids []string
		for _, k := range set.Keys {
			if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || k.Kid == "" || k.E != "AQAB" || len(k.N) != 342 {
				t.Errorf("key %+v is not an RS256 RSA-2048 signing key", k)
			}
			kids = append(kids, k.Kid)
		}
		return kids
	}
	first := keys()
	if len(first) != 1 {
		t.Fatalf("keys = %v, want one", first)
	}
	op.RotateKey()
	second := keys()
	if len(second) != 2 || second[1] != first[0] || second[0] == first[0] {
		t.Fatalf("after one rotation keys = %v, want [new %s]", second, first[0])
	}
	op.RotateKey()
	third := keys()
	if len(third) != 2 || third[1] != second[0] || slices.Contains(third, first[0]) {
		t.Fatalf("after two rotations keys = %v, want [newer %s]", third, second[0])
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  devprovider.Config
		want string
	}{
		{"client without ID", devprovider.Config{Clients: []devprovider.Client{{Secret: "s", RedirectURIs: []string{callbackURL}}}},
			"devprovider: client without ID"},
		{"duplicate client", devprovider.Config{Clients: []devprovider.Client{webClient(), webClient()}},
			`devprovider: duplicate client "web"`},
		{"secret missing", devprovider.Config{Clients: []devprovider.Client{{ID: "c", RedirectURIs: []string{callbackURL}}}},
			`devprovider: client "c": client_secret_basic needs a Secret`},
		{"public client with secret", devprovider.Config{Clients: []devprovider.Client{{ID: "c", Secret: "s", AuthMethod: "none", RedirectURIs: []string{callbackURL}}}},
			`devprovider: client "c": a public client has no Secret`},
		{"unknown auth method", devprovider.Config{Clients: []devprovider.Client{{ID: "c", Secret: "s", AuthMethod: "client_secret_jwt", RedirectURIs: []string{callbackURL}}}},
			`devprovider: client "c": unknown AuthMethod "client_secret_jwt"`},
		{"no redirect URI", devprovider.Config{Clients: []devprovider.Client{{ID: "c", Secret: "s"}}},
			`devprovider: client "c" has no RedirectURIs`},
		{"relative redirect URI", devprovider.Config{Clients: []devprovider.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"/callback"}}}},
			`devprovider: client "c": URI "/callback" is not absolute or has a fragment`},
		{"front-channel on another host", devprovider.Config{Clients: []devprovider.Client{{ID: "c", Secret: "s", RedirectURIs: []string{callbackURL}, FrontchannelLogoutURI: "http://127.0.0.2:1/fc"}}},
			`devprovider: client "c": FrontchannelLogoutURI must share scheme, host and port with a redirect URI`},
		{"unknown auto-login user", devprovider.Config{AutoLogin: "bob"},
			`devprovider: AutoLogin user "bob" is not in Users`},
		{"duplicate user", devprovider.Config{Users: []devprovider.User{{Username: "bob"}, {Username: "bob"}}},
			`devprovider: duplicate user "bob"`},
		{"bad issuer", devprovider.Config{Issuer: "127.0.0.1:8080"},
			`devprovider: issuer "127.0.0.1:8080" is not an http(s) URL without query or fragment`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := devprovider.New(tc.cfg)
			if err == nil || err.Error() != tc.want {
				t.Errorf("New error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "192.0.2.1:0"} {
		_, err := devprovider.Start(devprovider.Config{Addr: addr})
		if err == nil || !strings.Contains(err.Error(), "is not a loopback address") {
			t.Errorf("Start(Addr %q) error = %v, want a loopback error", addr, err)
		}
	}
}

func TestRequests(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice"})
	r := newRP(t, op, defaultClient, webSecret, nil)
	op.ResetRequests()
	b := newBrowser(t)
	loginAndExchange(t, b, r)
	reqs := op.Requests()
	var paths []string
	for _, req := range reqs {
		paths = append(paths, req.Method+" "+req.Path)
	}
	if want := []string{"GET /authorize", "POST /token", "GET /jwks"}; !slices.Equal(paths, want) {
		t.Fatalf("requests = %q, want %q", paths, want)
	}
	auth, token := reqs[0], reqs[1]
	if auth.Method != "GET" || auth.Path != "/authorize" || auth.Query.Get("client_id") != defaultClient ||
		auth.Query.Get("code_challenge_method") != "S256" || auth.Form != nil {
		t.Errorf("authorize request = %+v", auth)
	}
	if token.Method != "POST" || token.Path != "/token" || token.Form.Get("grant_type") != "authorization_code" ||
		token.Form.Get("code_verifier") == "" || !strings.HasPrefix(token.Header.Get("Authorization"), "Basic ") {
		t.Errorf("token request = %+v", token)
	}
	if token.Time.IsZero() {
		t.Error("request time not set")
	}
	op.ResetRequests()
	if n := len(op.Requests()); n != 0 {
		t.Errorf("after ResetRequests, %d requests", n)
	}
}

// TestConcurrentLogins runs whole flows at once, for the race detector.
func TestConcurrentLogins(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice", RefreshTokens: devprovider.RefreshAlways})
	r := newRP(t, op, defaultClient, webSecret, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	flowOnce := func() error {
		f := newFlow()
		resp, err := client.Get(r.authURL(f))
		if err != nil {
			return err
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			return err
		}
		ctx := context.Background()
		tok, err := r.conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(f.verifier))
		if err != nil {
			return err
		}
		if _, err := r.verifier.Verify(ctx, tok.Extra("id_token").(string)); err != nil {
			return err
		}
		tok.Expiry = time.Now().Add(-time.Minute)
		_, err = r.conf.TokenSource(ctx, tok).Token()
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = flowOnce()
			op.Requests()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
