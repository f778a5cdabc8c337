package providers_test

import (
	"testing"

	"github.com/endsession/endsession/providers"
)

const (
	pingEnv    = "0c5e7e0a-1f2b-4c3d-8e9f-a0b1c2d3e4f5"
	pingClient = "a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6"
	pingSecret = "pingone-secret"
)

// pingOneFake stands for a PingOne environment at host: issuer
// https://{host}/{env}/as (or https://{custom domain}/as), its
// endpoints under the issuer, HTTP Basic client authentication, and a
// /signoff that takes id_token_hint, post_logout_redirect_uri and state.
func pingOneFake(t *testing.T, host, path string) *fakeOP {
	op := newFakeOP(t, "https://"+host+path, pingClient, pingSecret)
	op.base = "https://" + host
	op.endSession = true
	op.paths = opPaths{
		Discovery: path + "/.well-known/openid-configuration",
		Authorize: path + "/authorize", Token: path + "/token", JWKS: path + "/jwks",
		UserInfo: path + "/userinfo", Logout: path + "/signoff", Revocation: path + "/revoke",
	}
	return op
}

// TestPingOneLoginLogout is the golden login and logout at PingOne, in
// the regions' hosts and at a custom domain: HTTP Basic at /as/token,
// and a logout by GET at /as/signoff with id_token_hint (accepted
// expired), post_logout_redirect_uri and state.
func TestPingOneLoginLogout(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  providers.PingOneConfig
		host string
		path string
	}{
		{"north america", providers.PingOneConfig{EnvironmentID: pingEnv}, "auth.pingone.com", "/" + pingEnv + "/as"},
		{"europe", providers.PingOneConfig{Region: providers.PingOneEU, EnvironmentID: pingEnv}, "auth.pingone.eu", "/" + pingEnv + "/as"},
		{"asia-pacific", providers.PingOneConfig{Region: providers.PingOneAsiaPacific, EnvironmentID: pingEnv}, "auth.pingone.asia", "/" + pingEnv + "/as"},
		{"custom domain", providers.PingOneConfig{CustomDomain: "login.example.com"}, "login.example.com", "/as"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.ClientID, tc.cfg.ClientSecret = pingClient, pingSecret
			p := providers.PingOne(tc.cfg)
			issuer := "https://" + tc.host + tc.path
			if p.Name != "pingone" || p.Issuer != issuer || !p.ExpiredHintAccepted {
				t.Fatalf("Name %q, Issuer %q, ExpiredHintAccepted %v", p.Name, p.Issuer, p.ExpiredHintAccepted)
			}
			op := pingOneFake(t, tc.host, tc.path)
			n := newInternet()
			n.handle(tc.host, op)
			runGolden(t, n, op, p, golden{
				Discovery: issuer + "/.well-known/openid-configuration",
				Authorize: issuer + "/authorize",
				AuthQuery: authQuery(pingClient, "openid profile email"),
				Token:     issuer + "/token",
				Auth:      "basic",
				TokenBody: codeBody("basic", pingClient, pingSecret),
				Logout:    issuer + "/signoff",
				LogoutQuery: map[string]string{
					"id_token_hint": "{id_token}", "post_logout_redirect_uri": "{landing}", "state": anyValue,
				},
			})
		})
	}
}

// TestPingOneConfig: an environment id is required unless a custom
// domain names the environment; an unknown region is refused.
func TestPingOneConfig(t *testing.T) {
	for _, bad := range []providers.PingOneConfig{
		{ClientID: pingClient},
		{Region: "moon", EnvironmentID: pingEnv, ClientID: pingClient},
	} {
		p := providers.PingOne(bad)
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
