package providers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	auth0Domain = "acme.eu.auth0.com"
	auth0Client = "Xy7AbCdEfGh"
	auth0Secret = "auth0-secret"
)

// auth0Fake stands for an Auth0 tenant: discovery (with or without
// end_session_endpoint), /oidc/logout and the legacy /v2/logout, both
// checking the landing URL against the application's Allowed Logout URLs
// exactly.
type auth0Fake struct {
	*fakeOP
}

func newAuth0Fake(t *testing.T, endSession bool, allowed ...string) *auth0Fake {
	op := newFakeOP(t, "https://"+auth0Domain+"/", auth0Client, auth0Secret)
	op.base = "https://" + auth0Domain
	op.auth = "post"
	op.endSession = endSession
	op.returnTo = allowed
	op.paths = opPaths{
		Discovery: "/.well-known/openid-configuration",
		Authorize: "/authorize",
		Token:     "/oauth/token",
		JWKS:      "/.well-known/jwks.json",
		UserInfo:  "/userinfo",
		Logout:    "/oidc/logout",
	}
	return &auth0Fake{op}
}

func (f *auth0Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v2/logout":
		rec := record("v2logout", r)
		f.mu.Lock()
		f.log = append(f.log, rec)
		f.mu.Unlock()
		q := r.URL.Query()
		// With client_id the application's Allowed Logout URLs apply;
		// without it the tenant's, empty here.
		if q.Get("client_id") != f.clientID || !slices.Contains(f.returnTo, q.Get("returnTo")) {
			http.Error(w, `The "returnTo" querystring parameter "`+q.Get("returnTo")+`" is not defined as a valid URL in "Allowed Logout URLs".`, http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, q.Get("returnTo"), http.StatusFound)
	case "/oidc/logout":
		if q := r.URL.Query(); q.Has("client_id") && q.Get("client_id") != f.clientID {
			http.Error(w, "client_id does not match the ID token's audience", http.StatusBadRequest)
			return
		}
		f.fakeOP.ServeHTTP(w, r)
	default:
		f.fakeOP.ServeHTTP(w, r)
	}
}

func TestAuth0LoginLogout(t *testing.T) {
	cases := []struct {
		name       string
		endSession bool
		logout     providers.Logout // nil: the preset's
		// want is the logout URL's path; legacy ones are compared whole.
		want      string
		federated bool
	}{
		{name: "oidc logout from discovery", endSession: true, want: "/oidc/logout"},
		{name: "oidc logout federated", endSession: true, logout: providers.Auth0Logout{Domain: auth0Domain, Federated: true},
			want: "/oidc/logout", federated: true},
		{name: "tenant without end_session_endpoint", endSession: false, want: "/v2/logout"},
		{name: "legacy chosen", endSession: true, logout: providers.Auth0Logout{Domain: auth0Domain, Legacy: true}, want: "/v2/logout"},
		{name: "legacy federated", endSession: false, logout: providers.Auth0Logout{Domain: auth0Domain, Federated: true},
			want: "/v2/logout", federated: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.Auth0(auth0Domain, auth0Client, auth0Secret)
			if tc.logout != nil {
				p.Logout = tc.logout
			}
			n := newInternet()
			a := newApp(t, n, nil, p)
			landing := a.URL + "/auth/logged-out"
			f := newAuth0Fake(t, tc.endSession, landing)
			n.handle(auth0Domain, f)

			where, q := splitURL(t, a.login("auth0"))
			if d := f.only("discovery"); d.URL != "https://acme.eu.auth0.com/.well-known/openid-configuration" {
				t.Errorf("discovery at %s", d.URL)
			}
			if where != "https://acme.eu.auth0.com/authorize" {
				t.Errorf("authorize at %s", where)
			}
			checkValues(t, "authorize", q, map[string]string{
				"client_id": auth0Client, "response_type": "code", "redirect_uri": a.URL + "/auth/callback",
				"scope": "openid profile email offline_access", "state": anyValue, "nonce": anyValue,
				"code_challenge": anyValue, "code_challenge_method": "S256",
			})
			tok := f.only("token")
			if tok.Method != http.MethodPost || tok.URL != "https://acme.eu.auth0.com/oauth/token" || tok.Header.Get("Authorization") != "" {
				t.Errorf("token request %s %s with %q", tok.Method, tok.URL, tok.Header.Get("Authorization"))
			}
			checkValues(t, "token body", tok.Form, map[string]string{
				"grant_type": "authorization_code", "code": anyValue, "redirect_uri": a.URL + "/auth/callback",
				"client_id": auth0Client, "client_secret": auth0Secret, "code_verifier": anyValue,
			})
			d, ok := a.session()
			if !ok || d.Issuer != "https://acme.eu.auth0.com/" || d.SID != "sid-42" {
				t.Fatalf("session after login: %+v", d)
			}

			// The user asks to come back to a page with a query: it must
			// not reach Auth0, whose allow-list matches exactly.
			resp, body := a.logout("/orders?id=7")
			target := a.expectRedirect(resp, body)
			switch {
			case tc.want == "/v2/logout":
				want := "https://acme.eu.auth0.com/v2/logout?client_id=" + auth0Client + "&returnTo=" + url.QueryEscape(landing)
				if tc.federated {
					want += "&federated"
				}
				if target != want {
					t.Errorf("logout at\n%s\nwant\n%s", target, want)
				}
			default:
				where, q := splitURL(t, target)
				if where != "https://acme.eu.auth0.com/oidc/logout" {
					t.Errorf("logout at %s", where)
				}
				want := map[string]string{
					"client_id": auth0Client, "id_token_hint": d.IDToken,
					"post_logout_redirect_uri": landing, "state": anyValue,
				}
				if tc.federated {
					want["federated"] = ""
					if !strings.HasSuffix(target, "&federated") {
						t.Errorf("federated is not value-less in %s", target)
					}
				}
				checkValues(t, "logout", q, want)
			}
			if got := a.follow(resp, body); got != a.URL+"/orders?id=7" {
				t.Errorf("landed on %s", got)
			}
			if n := len(f.requests("v2logout")) + len(f.requests("logout")); n != 1 {
				t.Errorf("%d logout requests at Auth0", n)
			}
		})
	}
}

// TestAuth0AllowList: a landing URL that is not allowed is refused by
// Auth0 (the fake, as the real one), which is why the middleware always
// sends its fixed one.
func TestAuth0AllowList(t *testing.T) {
	n := newInternet()
	a := newApp(t, n, nil, providers.Auth0(auth0Domain, auth0Client, auth0Secret))
	f := newAuth0Fake(t, false, a.URL+"/auth/logged-out?from=auth0")
	n.handle(auth0Domain, f)
	a.login("auth0")
	resp, body := a.logout("")
	resp, body = a.get(a.expectRedirect(resp, body))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Allowed Logout URLs") {
		t.Errorf("Auth0 answered %s: %s", resp.Status, body)
	}
}

func TestAuth0LogoutStrategy(t *testing.T) {
	ctx := context.Background()
	req := func() *providers.LogoutRequest {
		return &providers.LogoutRequest{ClientID: auth0Client, SID: "sid-9", State: "ST",
			ReturnURL: "https://app.example/auth/logged-out"}
	}
	cases := []struct {
		name   string
		logout providers.Auth0Logout
		edit   func(*providers.LogoutRequest)
		want   string
	}{
		{"no ID token: logout_hint", providers.Auth0Logout{}, func(r *providers.LogoutRequest) {
			r.Endpoints.EndSessionURL = "https://acme.eu.auth0.com/oidc/logout"
		}, "https://acme.eu.auth0.com/oidc/logout?client_id=Xy7AbCdEfGh&logout_hint=sid-9&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST"},
		{"ID token: no logout_hint", providers.Auth0Logout{}, func(r *providers.LogoutRequest) {
			r.Endpoints.EndSessionURL = "https://acme.eu.auth0.com/oidc/logout"
			r.IDToken = "ID.TOKEN.X"
		}, "https://acme.eu.auth0.com/oidc/logout?client_id=Xy7AbCdEfGh&id_token_hint=ID.TOKEN.X&post_logout_redirect_uri=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out&state=ST"},
		{"domain from the discovered endpoints", providers.Auth0Logout{}, func(r *providers.LogoutRequest) {
			r.Endpoints.AuthURL = "https://login.acme.com/authorize"
		}, "https://login.acme.com/v2/logout?client_id=Xy7AbCdEfGh&returnTo=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out"},
		{"discovery failed: configured domain", providers.Auth0Logout{Domain: auth0Domain}, func(r *providers.LogoutRequest) {},
			"https://acme.eu.auth0.com/v2/logout?client_id=Xy7AbCdEfGh&returnTo=https%3A%2F%2Fapp.example%2Fauth%2Flogged-out"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := req()
			tc.edit(r)
			act, err := tc.logout.EndSession(ctx, r)
			if err != nil || act.Method != http.MethodGet || act.URL != tc.want {
				t.Errorf("got %s %s (%v)\nwant GET %s", act.Method, act.URL, err, tc.want)
			}
			if sent := strings.Contains(tc.want, "state="); act.StateSent != sent {
				t.Errorf("StateSent = %v, want %v", act.StateSent, sent)
			}
		})
	}
	if _, err := (providers.Auth0Logout{}).EndSession(ctx, req()); err == nil {
		t.Error("no domain and no endpoints: want an error")
	}
}
