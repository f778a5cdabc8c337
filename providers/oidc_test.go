package providers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	opIssuer = "https://op.example.com"
	opClient = "generic-client"
	opSecret = "generic-secret"
)

func genericFake(t *testing.T) *fakeOP {
	op := newFakeOP(t, opIssuer, opClient, opSecret)
	op.base = opIssuer
	op.endSession = true
	op.logoutMethods = []string{http.MethodGet, http.MethodPost}
	op.paths = opPaths{
		Discovery: "/.well-known/openid-configuration",
		Authorize: "/authorize",
		Token:     "/token",
		JWKS:      "/jwks",
		UserInfo:  "/userinfo",
		Logout:    "/logout",
	}
	return op
}

// TestRPInitiated is the golden logout request of RP-Initiated Logout for
// each option of RPInitiated.
func TestRPInitiated(t *testing.T) {
	base := providers.LogoutRequest{
		Endpoints: providers.Endpoints{EndSessionURL: "https://op.example.com/logout"},
		ClientID:  "c1", IDToken: "h.p.s", SID: "sid-7", State: "ST",
		ReturnURL: "https://app.example/auth/logged-out",
	}
	cases := []struct {
		name     string
		s        providers.RPInitiated
		edit     func(*providers.LogoutRequest)
		method   string
		url      string
		form     url.Values
		sent     bool
		notice   string
		noAction bool
	}{
		{name: "defaults", method: "GET",
			url: "https://op.example.com/logout?id_token_hint=h.p.s&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST", sent: true},
		{name: "client_id, logout_hint, ui_locales", s: providers.RPInitiated{ClientID: true, LogoutHint: true, UILocales: "fr-FR en"}, method: "GET",
			url: "https://op.example.com/logout?client_id=c1&id_token_hint=h.p.s&logout_hint=sid-7&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST&ui_locales=fr-FR+en", sent: true},
		{name: "logout_hint without a sid", s: providers.RPInitiated{LogoutHint: true}, edit: func(r *providers.LogoutRequest) { r.SID = "" }, method: "GET",
			url: "https://op.example.com/logout?id_token_hint=h.p.s&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST", sent: true},
		{name: "POST form", s: providers.RPInitiated{Method: http.MethodPost, ClientID: true}, method: "POST",
			url:  "https://op.example.com/logout",
			form: url.Values{"client_id": {"c1"}, "id_token_hint": {"h.p.s"}, "post_logout_redirect_uri": {"https://app.example/auth/logged-out"}, "state": {"ST"}}, sent: true},
		{name: "renamed parameters, no state", s: providers.RPInitiated{RedirectParam: "redirect_uri", OmitState: true}, method: "GET",
			url: "https://op.example.com/logout?id_token_hint=h.p.s&redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out"},
		{name: "renamed state", s: providers.RPInitiated{StateParam: "st", OmitIDTokenHint: true}, method: "GET",
			url: "https://op.example.com/logout?post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&st=ST", sent: true},
		{name: "configured URL with a query and extras", s: providers.RPInitiated{URL: "https://op.example.com/end?tenant=t1", Extra: url.Values{"x": {"1"}}}, method: "GET",
			url: "https://op.example.com/end?tenant=t1&id_token_hint=h.p.s&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST&x=1", sent: true},
		{name: "no ID token: sent without the hint", method: "GET", edit: func(r *providers.LogoutRequest) { r.IDToken = "" },
			url: "https://op.example.com/logout?post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST", sent: true},
		{name: "no ID token, required", s: providers.RPInitiated{RequireIDToken: true}, edit: func(r *providers.LogoutRequest) { r.IDToken = "" },
			noAction: true, notice: providers.NoticeLocalOnly},
		{name: "no endpoint", edit: func(r *providers.LogoutRequest) { r.Endpoints.EndSessionURL = "" },
			noAction: true, notice: providers.NoticeLocalOnly},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			if tc.edit != nil {
				tc.edit(&req)
			}
			act, err := tc.s.EndSession(context.Background(), &req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noAction {
				if act.Method != "" || act.Notice != tc.notice {
					t.Errorf("got %+v, want a local logout with notice %q", act, tc.notice)
				}
				return
			}
			if act.Method != tc.method || act.URL != tc.url || act.StateSent != tc.sent {
				t.Errorf("got %s %s (state sent %v)\nwant %s %s (%v)", act.Method, act.URL, act.StateSent, tc.method, tc.url, tc.sent)
			}
			if act.Form.Encode() != tc.form.Encode() {
				t.Errorf("form %q, want %q", act.Form.Encode(), tc.form.Encode())
			}
		})
	}
}

func TestOIDCPreset(t *testing.T) {
	p := providers.OIDC("corp", opIssuer, opClient, opSecret)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Name != "corp" || p.Issuer != opIssuer || p.ClientID != opClient || p.ClientSecret != opSecret ||
		p.Endpoints.AuthURL != "" || p.AuthMethod != "" {
		t.Errorf("OIDC = %+v", p)
	}
	if es, ok := p.Logout.(providers.RPInitiated); !ok || !es.ClientID || es.URL != "" || es.Method != "" {
		t.Errorf("Logout = %#v, want RP-Initiated Logout with client_id", p.Logout)
	}
}

// TestOIDCLoginLogout: discovery, login with HTTP Basic, and
// RP-Initiated Logout by GET, by POST with the optional parameters, and
// at a provider without an end_session_endpoint.
func TestOIDCLoginLogout(t *testing.T) {
	cases := []struct {
		name       string
		logout     providers.Logout
		endSession bool
		post       bool
		want       map[string]string
	}{
		{name: "GET", endSession: true, want: map[string]string{"client_id": opClient}},
		{name: "POST with hints", endSession: true, post: true,
			logout: providers.RPInitiated{Method: http.MethodPost, ClientID: true, LogoutHint: true, UILocales: "fr"},
			want:   map[string]string{"client_id": opClient, "logout_hint": "sid-42", "ui_locales": "fr"}},
		{name: "no end_session_endpoint", endSession: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.OIDC("corp", opIssuer, opClient, opSecret)
			if tc.logout != nil {
				p.Logout = tc.logout
			}
			op := genericFake(t)
			op.endSession = tc.endSession
			n := newInternet()
			n.handle("op.example.com", op)
			a := newApp(t, n, nil, p)

			where, q := splitURL(t, a.login("corp"))
			if where != "https://op.example.com/authorize" {
				t.Errorf("authorize at %s", where)
			}
			checkValues(t, "authorize", q, map[string]string{
				"client_id": opClient, "response_type": "code", "redirect_uri": a.URL + "/auth/callback",
				"scope": "openid profile email", "state": anyValue, "nonce": anyValue,
				"code_challenge": anyValue, "code_challenge_method": "S256",
			})
			tok := op.only("token")
			if tok.Method != http.MethodPost || tok.URL != "https://op.example.com/token" {
				t.Errorf("token request %s %s", tok.Method, tok.URL)
			}
			if user, pass, ok := basicAuth(tok.Header); !ok || user != opClient || pass != opSecret {
				t.Errorf("token request without the client's Basic credentials: %q", tok.Header.Get("Authorization"))
			}
			checkValues(t, "token body", tok.Form, map[string]string{
				"grant_type": "authorization_code", "code": anyValue, "redirect_uri": a.URL + "/auth/callback", "code_verifier": anyValue,
			})
			d, _ := a.session()

			resp, body := a.logout("")
			if !tc.endSession {
				if got := a.follow(resp, body); got != a.URL+"/?logout_notice=local-only" {
					t.Errorf("landed on %s", got)
				}
				if _, ok := a.session(); ok {
					t.Error("the session survived")
				}
				return
			}
			var params url.Values
			if tc.post {
				action, form := autoPostForm(t, body)
				if action != "https://op.example.com/logout" {
					t.Errorf("logout form posts to %s", action)
				}
				params = form
				resp, body = a.post(action, a.URL, form)
			} else {
				target := a.expectRedirect(resp, body)
				where, q := splitURL(t, target)
				if where != "https://op.example.com/logout" {
					t.Errorf("logout at %s", where)
				}
				params = q
				resp, body = a.get(target)
			}
			want := map[string]string{"id_token_hint": d.IDToken, "post_logout_redirect_uri": a.URL + "/auth/logged-out", "state": anyValue}
			for k, v := range tc.want {
				want[k] = v
			}
			checkValues(t, "logout", params, want)
			if got := a.follow(resp, body); got != a.URL+"/" {
				t.Errorf("landed on %s", got)
			}
		})
	}
}

func basicAuth(h http.Header) (string, string, bool) {
	r := &http.Request{Header: h}
	return r.BasicAuth()
}
