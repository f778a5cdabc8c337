package providers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	dktClient = "d4e5f6a7-app"
	dktSecret = "dkt-secret"
)

// decathlonFake stands for Decathlon Login: endpoints under /connect,
// secret in the body, aud as an array with azp, logout returning state.
func decathlonFake(t *testing.T, issuer string) *fakeOP {
	op := newFakeOP(t, issuer, dktClient, dktSecret)
	op.auth = "post"
	op.aud = []string{dktClient}
	op.azp = dktClient
	op.logoutMethods = []string{http.MethodGet, http.MethodPost}
	op.paths = opPaths{
		Authorize: "/connect/oauth/authorize",
		Token:     "/connect/oauth/token",
		JWKS:      "/connect/.well-known/jwks.json",
		UserInfo:  "/connect/oauth/userinfo",
		Logout:    "/connect/openid/logout",
	}
	return op
}

func TestDecathlonEndpoints(t *testing.T) {
	cases := []struct {
		name                                              string
		cfg                                               providers.DecathlonConfig
		issuer, auth, token, jwks, userinfo, logout, meth string
		method                                            providers.AuthMethod
	}{
		{"production", providers.DecathlonConfig{ClientSecret: dktSecret},
			"https://api-eu.decathlon.net/connect",
			"https://api-global.decathlon.net/connect/oauth/authorize",
			"https://api-global.decathlon.net/connect/oauth/token",
			"https://api-global.decathlon.net/connect/.well-known/jwks.json",
			"https://api-eu.decathlon.net/connect/oauth/userinfo",
			"https://api-global.decathlon.net/connect/openid/logout", "", providers.AuthPost},
		{"preprod", providers.DecathlonConfig{ClientSecret: dktSecret, Preprod: true},
			"https://api-eu.preprod.decathlon.net/connect",
			"https://api-global.preprod.decathlon.net/connect/oauth/authorize",
			"https://api-global.preprod.decathlon.net/connect/oauth/token",
			"https://api-global.preprod.decathlon.net/connect/.well-known/jwks.json",
			"https://api-eu.preprod.decathlon.net/connect/oauth/userinfo",
			"https://api-eu.preprod.decathlon.net/connect/openid/logout", "", providers.AuthPost},
		{"public client, POST logout", providers.DecathlonConfig{LogoutPOST: true},
			"https://api-eu.decathlon.net/connect",
			"https://api-global.decathlon.net/connect/oauth/authorize",
			"https://api-global.decathlon.net/connect/oauth/token",
			"https://api-global.decathlon.net/connect/.well-known/jwks.json",
			"https://api-eu.decathlon.net/connect/oauth/userinfo",
			"https://api-global.decathlon.net/connect/openid/logout", http.MethodPost, providers.AuthNone},
		{"overrides", providers.DecathlonConfig{ClientSecret: dktSecret, BaseURL: "https://idp.example.com/connect/",
			Issuer: "https://issuer.example.com/connect", JWKSURL: "https://idp.example.com/keys",
			UserInfoURL: "https://idp.example.com/me", LogoutURL: "https://idp.example.com/bye"},
			"https://issuer.example.com/connect",
			"https://idp.example.com/connect/oauth/authorize",
			"https://idp.example.com/connect/oauth/token",
			"https://idp.example.com/keys",
			"https://idp.example.com/me",
			"https://idp.example.com/bye", "", providers.AuthPost},
		{"token and authorize overrides", providers.DecathlonConfig{ClientSecret: dktSecret,
			AuthURL: "https://login.example.com/authorize", TokenURL: "https://login.example.com/token"},
			"https://api-eu.decathlon.net/connect",
			"https://login.example.com/authorize",
			"https://login.example.com/token",
			"https://api-global.decathlon.net/connect/.well-known/jwks.json",
			"https://api-eu.decathlon.net/connect/oauth/userinfo",
			"https://api-global.decathlon.net/connect/openid/logout", "", providers.AuthPost},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.ClientID = dktClient
			p := providers.Decathlon(tc.cfg)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			e := p.Endpoints
			for _, c := range []struct{ what, got, want string }{
				{"Name", p.Name, "decathlon"}, {"Issuer", p.Issuer, tc.issuer},
				{"AuthURL", e.AuthURL, tc.auth}, {"TokenURL", e.TokenURL, tc.token},
				{"JWKSURL", e.JWKSURL, tc.jwks}, {"UserInfoURL", e.UserInfoURL, tc.userinfo},
				{"AuthMethod", string(p.AuthMethod), string(tc.method)},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if !p.ExpiredHintAccepted {
				t.Error("ExpiredHintAccepted is off; Decathlon's logout page says an expired ID token is accepted")
			}
			es, ok := p.Logout.(providers.RPInitiated)
			if !ok || es.URL != tc.logout || es.Method != tc.meth || !es.RequireIDToken || es.OmitState || es.RedirectParam != "" || es.ClientID {
				t.Errorf("Logout = %#v", p.Logout)
			}
		})
	}
}

// TestDecathlonLoginLogout runs a login and a logout through the
// middleware against Decathlon's production URLs: aud as an array, state
// sent and returned at logout, by GET or by POST.
func TestDecathlonLoginLogout(t *testing.T) {
	for _, post := range []bool{false, true} {
		name := "GET logout"
		if post {
			name = "POST logout"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := providers.Decathlon(providers.DecathlonConfig{ClientID: dktClient, ClientSecret: dktSecret, LogoutPOST: post, UserInfo: true})
			op := decathlonFake(t, p.Issuer)
			n := newInternet()
			n.handle("api-global.decathlon.net", op)
			n.handle("api-eu.decathlon.net", op)
			a := newApp(t, n, nil, p)

			where, q := splitURL(t, a.login("decathlon"))
			if where != "https://api-global.decathlon.net/connect/oauth/authorize" {
				t.Errorf("authorize at %s", where)
			}
			checkValues(t, "authorize", q, map[string]string{
				"client_id": dktClient, "response_type": "code", "redirect_uri": a.URL + "/auth/callback",
				"scope": "openid profile email", "state": anyValue, "nonce": anyValue,
				"code_challenge": anyValue, "code_challenge_method": "S256",
			})
			tok := op.only("token")
			if tok.Method != http.MethodPost || tok.URL != "https://api-global.decathlon.net/connect/oauth/token" || len(tok.Query) != 0 {
				t.Errorf("token request %s %s", tok.Method, tok.URL)
			}
			if h := tok.Header.Get("Authorization"); h != "" {
				t.Errorf("token request has Authorization %q", h)
			}
			checkValues(t, "token body", tok.Form, map[string]string{
				"grant_type": "authorization_code", "code": anyValue, "redirect_uri": a.URL + "/auth/callback",
				"client_id": dktClient, "client_secret": dktSecret, "code_verifier": anyValue,
			})
			if ui := op.only("userinfo"); ui.URL != "https://api-eu.decathlon.net/connect/oauth/userinfo" {
				t.Errorf("userinfo at %s", ui.URL)
			}
			d, ok := a.session()
			if !ok || d.Subject != testSubject || d.Issuer != "https://api-eu.decathlon.net/connect" {
				t.Fatalf("session after login: %+v", d)
			}

			resp, body := a.logout("/after")
			if _, ok := a.session(); ok {
				t.Error("the session survived the logout response")
			}
			const logout = "https://api-global.decathlon.net/connect/openid/logout"
			var params map[string][]string
			if post {
				action, form := autoPostForm(t, body)
				if action != logout {
					t.Errorf("logout form posts to %s", action)
				}
				params = form
				resp, body = a.post(action, a.URL, form)
			} else {
				target := a.expectRedirect(resp, body)
				where, q := splitURL(t, target)
				if where != logout {
					t.Errorf("logout at %s", where)
				}
				params = q
				resp, body = a.get(target)
			}
			checkValues(t, "logout", params, map[string]string{
				"id_token_hint": d.IDToken, "post_logout_redirect_uri": a.URL + "/auth/logged-out", "state": anyValue,
			})
			back := a.expectRedirect(resp, body)
			state := params["state"][0]
			if back != a.URL+"/auth/logged-out?state="+state {
				t.Errorf("Decathlon sent the browser to %s", back)
			}
			if got := a.follow(resp, body); got != a.URL+"/after" {
				t.Errorf("landed on %s", got)
			}
			if lo := op.only("logout"); post && lo.Method != http.MethodPost || !post && lo.Method != http.MethodGet {
				t.Errorf("logout request %s", lo.Method)
			}
		})
	}
}

// TestDecathlonAudience: aud arrives as an array with azp; the
// middleware accepts it when azp names the client, and refuses it
// otherwise.
func TestDecathlonAudience(t *testing.T) {
	cases := []struct {
		name string
		aud  []string
		azp  string
		ok   bool
	}{
		{"array of one with azp", []string{dktClient}, dktClient, true},
		{"array of two with azp", []string{dktClient, "sports-api"}, dktClient, true},
		{"array of two without azp", []string{dktClient, "sports-api"}, "", false},
		{"azp of another client", []string{dktClient, "sports-api"}, "other-app", false},
		{"array without the client", []string{"sports-api"}, "sports-api", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.Decathlon(providers.DecathlonConfig{ClientID: dktClient, ClientSecret: dktSecret})
			op := decathlonFake(t, p.Issuer)
			op.aud, op.azp = tc.aud, tc.azp
			n := newInternet()
			n.handle("api-global.decathlon.net", op)
			a := newApp(t, n, nil, p)
			callback := a.expectRedirect(a.get(a.expectRedirect(a.get(a.URL + "/auth/login"))))
			resp, _ := a.get(callback)
			if got := resp.StatusCode == http.StatusSeeOther; got != tc.ok {
				t.Errorf("login accepted = %v (%s), want %v", got, resp.Status, tc.ok)
			}
		})
	}
}

// TestDecathlonLogoutRequest: the ID token goes as stored, expired or
// not, and a session without one ends locally.
func TestDecathlonLogoutRequest(t *testing.T) {
	// An ID token that expired in 2023, as Decathlon's example.
	const expired = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE2OTkyNTk5MzN9.c2ln"
	p := providers.Decathlon(providers.DecathlonConfig{ClientID: dktClient})
	req := &providers.LogoutRequest{IDToken: expired, ReturnURL: "https://app.example/auth/logged-out", State: "S1", ClientID: dktClient}
	act, err := p.Logout.EndSession(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := "https://api-global.decathlon.net/connect/openid/logout?id_token_hint=" + expired +
		"&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=S1"
	if act.Method != http.MethodGet || act.URL != want || !act.StateSent {
		t.Errorf("action %+v, want GET %s", act, want)
	}
	req.IDToken = ""
	act, err = p.Logout.EndSession(context.Background(), req)
	if err != nil || act.Method != "" || act.Notice != providers.NoticeLocalOnly {
		t.Errorf("without an ID token: %+v, %v; want a local logout", act, err)
	}
}

// TestDecathlonBaseURL points the preset at a fake served by httptest.
func TestDecathlonBaseURL(t *testing.T) {
	op := decathlonFake(t, "https://api-eu.decathlon.net/connect")
	srv := httptest.NewServer(op)
	defer srv.Close()
	p := providers.Decathlon(providers.DecathlonConfig{ClientID: dktClient, ClientSecret: dktSecret, BaseURL: srv.URL + "/connect"})
	a := newApp(t, newInternet(), nil, p)
	a.login("decathlon")
	resp, body := a.logout("")
	if target := a.expectRedirect(resp, body); !strings.HasPrefix(target, srv.URL+"/connect/openid/logout?") {
		t.Errorf("logout at %s", target)
	}
	if got := a.follow(resp, body); got != a.URL+"/" {
		t.Errorf("landed on %s", got)
	}
}
