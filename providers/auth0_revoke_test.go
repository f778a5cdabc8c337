package providers_test

import (
	"net/http"
	"testing"

	"github.com/endsession/endsession/providers"
)

// TestAuth0RevokesTheRefreshTokenOnly: Auth0's /oauth/revoke takes
// refresh tokens only, so the logout revokes the refresh token there, with
// the client's credentials in the body, and never sends the access token.
func TestAuth0RevokesTheRefreshTokenOnly(t *testing.T) {
	p := providers.Auth0(auth0Domain, auth0Client, auth0Secret)
	if !p.RevokeRefreshOnly {
		t.Error("the Auth0 preset would revoke the access token too")
	}
	n := newInternet()
	a := newApp(t, n, nil, p)
	f := newAuth0Fake(t, true, a.URL+"/auth/logged-out")
	f.refresh = true
	f.revokeRefreshOnly = true
	f.paths.Revocation = "/oauth/revoke"
	n.handle(auth0Domain, f)
	a.login("auth0")
	d, ok := a.session()
	if !ok || d.RefreshToken == "" {
		t.Fatalf("no session with a refresh token: %+v", d)
	}
	a.follow(a.logout(""))

	revokes := f.requests("revocation")
	if len(revokes) != 1 {
		t.Fatalf("%d revocation requests, want 1 (the refresh token)", len(revokes))
	}
	r := revokes[0]
	if r.Method != http.MethodPost || r.URL != "https://"+auth0Domain+"/oauth/revoke" || r.Header.Get("Authorization") != "" {
		t.Errorf("revocation request %s %s, Authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
	}
	checkValues(t, "revocation body", r.Form, map[string]string{
		"token": d.RefreshToken, "token_type_hint": "refresh_token", "client_id": auth0Client, "client_secret": auth0Secret,
	})
	rep := a.lastReport()
	for _, s := range rep.Steps {
		if s.Name == "provider.revoke" && (!s.OK || s.Detail != "revoked: refresh_token") {
			t.Errorf("revoke step %+v", s)
		}
	}
	if ok, seen := stepsOf(rep)["provider.revoke"]; !seen || !ok {
		t.Errorf("report steps %+v", rep.Steps)
	}
}

// TestAuth0EndpointOverrides: a preset found through discovery takes an
// override for each endpoint on the returned provider; a configured token
// or keys URL wins over the discovered one, and discovery still runs.
func TestAuth0EndpointOverrides(t *testing.T) {
	const custom = "login.acme.example"
	p := providers.Auth0(auth0Domain, auth0Client, auth0Secret)
	p.Endpoints.TokenURL = "https://" + custom + "/oauth/token"
	p.Endpoints.JWKSURL = "https://" + custom + "/.well-known/jwks.json"
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	n := newInternet()
	a := newApp(t, n, nil, p)
	f := newAuth0Fake(t, true, a.URL+"/auth/logged-out")
	n.handle(auth0Domain, f)
	n.handle(custom, f)
	where, _ := splitURL(t, a.login("auth0"))
	if where != "https://"+auth0Domain+"/authorize" {
		t.Errorf("authorize at %s, want the discovered endpoint", where)
	}
	if len(f.requests("discovery")) != 1 {
		t.Error("discovery did not run")
	}
	if tok := f.only("token"); tok.URL != p.Endpoints.TokenURL {
		t.Errorf("token request at %s, want %s", tok.URL, p.Endpoints.TokenURL)
	}
	if k := f.only("jwks"); k.URL != p.Endpoints.JWKSURL {
		t.Errorf("keys read at %s, want %s", k.URL, p.Endpoints.JWKSURL)
	}
}
