package providers_test

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

const entraOtherTenant = "0b5d0c4e-2f3a-4b1c-8d9e-7a6b5c4d3e2f"

// entraOrganizationsFake stands for Entra's "organizations" authority:
// discovery names the template issuer, and the ID tokens have the issuer
// and tid of the user's tenant.
func entraOrganizationsFake(t *testing.T, tid, iss string) *fakeOP {
	op := newFakeOP(t, "https://"+entraHost+"/{tenantid}/v2.0", entraClient, entraSecret)
	op.base = "https://" + entraHost
	op.auth = "post"
	op.endSession = true
	op.tokenIss = iss
	op.claims["tid"] = tid
	op.claims["login_hint"] = entraLoginHint
	op.paths = opPaths{
		Discovery: "/organizations/v2.0/.well-known/openid-configuration",
		Authorize: "/organizations/oauth2/v2.0/authorize",
		Token:     "/organizations/oauth2/v2.0/token",
		JWKS:      "/organizations/discovery/v2.0/keys",
		Logout:    "/organizations/oauth2/v2.0/logout",
	}
	return op
}

// TestEntraOrganizations is the golden login and logout at Entra's
// "organizations" authority, for a user of an accepted tenant: the
// template issuer in discovery, the tenant's own issuer in the ID token.
func TestEntraOrganizations(t *testing.T) {
	p := providers.Entra("organizations", entraClient, entraSecret)
	p.MultiTenant.Tenants = []string{entraTenant}
	op := entraOrganizationsFake(t, entraTenant, "https://"+entraHost+"/"+entraTenant+"/v2.0")
	n := newInternet()
	n.handle(entraHost, op)
	base := "https://login.microsoftonline.com/organizations"
	_, d := runGolden(t, n, op, p, golden{
		Discovery: base + "/v2.0/.well-known/openid-configuration",
		Authorize: base + "/oauth2/v2.0/authorize",
		AuthQuery: authQuery(entraClient, "openid profile email offline_access"),
		Token:     base + "/oauth2/v2.0/token",
		Auth:      "post",
		TokenBody: codeBody("post", entraClient, entraSecret),
		Logout:    base + "/oauth2/v2.0/logout",
		LogoutQuery: map[string]string{
			"post_logout_redirect_uri": "{landing}", "state": anyValue, "logout_hint": entraLoginHint,
		},
	})
	if d.Issuer != p.Issuer {
		t.Errorf("session issuer %q, want the provider's %q", d.Issuer, p.Issuer)
	}
}

// TestEntraOrganizationsRefused: a login is refused when the user's
// tenant is not accepted, when the ID token's iss is not its tid's
// issuer, and when it has no tid; AnyTenant takes any tenant.
func TestEntraOrganizationsRefused(t *testing.T) {
	own := "https://" + entraHost + "/" + entraTenant + "/v2.0"
	other := "https://" + entraHost + "/" + entraOtherTenant + "/v2.0"
	cases := []struct {
		name     string
		tid, iss string
		any      bool
		ok       bool
	}{
		{"accepted tenant", entraTenant, own, false, true},
		{"other tenant", entraOtherTenant, other, false, false},
		{"iss of another tenant", entraTenant, other, false, false},
		{"iss not of Entra", entraTenant, "https://evil.example/" + entraTenant + "/v2.0", false, false},
		{"no tid", "", own, false, false},
		{"any tenant", entraOtherTenant, other, true, true},
		{"any tenant, iss of another", entraOtherTenant, own, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.Entra("organizations", entraClient, entraSecret)
			p.MultiTenant.Tenants = []string{entraTenant}
			p.MultiTenant.AnyTenant = tc.any
			op := entraOrganizationsFake(t, tc.tid, tc.iss)
			if tc.tid == "" {
				delete(op.claims, "tid")
			}
			n := newInternet()
			n.handle(entraHost, op)
			a := newApp(t, n, nil, p)
			authorize := a.expectRedirect(a.get(a.URL + "/auth/login?return_to=%2Fme"))
			callback := a.expectRedirect(a.get(authorize))
			resp, body := a.get(callback)
			_, signedIn := a.session()
			if signedIn != tc.ok {
				t.Errorf("signed in: %v, want %v (callback %s: %.200s)", signedIn, tc.ok, resp.Status, body)
			}
			if !tc.ok && resp.StatusCode < 400 {
				t.Errorf("callback answered %s, want an error", resp.Status)
			}
			if u, _ := url.Parse(callback); tc.ok && resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
				t.Errorf("callback %s answered %s", u.Path, resp.Status)
			}
		})
	}
}

// TestEntraOrganizationsRefresh: a refreshed ID token passes the same
// tenant checks as the login's: one of another tenant is refused (here
// the refresh made for a logout hint, when the preset's
// ExpiredHintAccepted is turned off).
func TestEntraOrganizationsRefresh(t *testing.T) {
	for _, tc := range []struct {
		name string
		tid  string
		ok   bool
	}{{"same tenant", entraTenant, true}, {"another tenant", entraOtherTenant, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := providers.Entra("organizations", entraClient, entraSecret)
			p.MultiTenant.Tenants = []string{entraTenant}
			p.ExpiredHintAccepted = false
			op := entraOrganizationsFake(t, entraTenant, "https://"+entraHost+"/"+entraTenant+"/v2.0")
			op.refresh = true
			op.idTTL = 2 * time.Minute
			n := newInternet()
			n.handle(entraHost, op)
			var skew atomic.Int64
			a := newApp(t, n, func(c *middleware.Config) {
				c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			}, p)
			a.login(p.Name)
			skew.Store(int64(10 * time.Minute))
			op.idTTL = time.Hour
			op.mu.Lock()
			op.claims["tid"] = tc.tid
			op.tokenIss = "https://" + entraHost + "/" + tc.tid + "/v2.0"
			op.mu.Unlock()
			a.follow(a.get(a.expectRedirect(a.logout(""))))
			var step *middleware.LogoutStep
			rep := a.lastReport()
			for i := range rep.Steps {
				if rep.Steps[i].Name == "provider.refresh_id_token" {
					step = &rep.Steps[i]
				}
			}
			if step == nil || step.OK != tc.ok {
				t.Errorf("refresh step %+v, want OK %v; steps %+v", step, tc.ok, rep.Steps)
			}
		})
	}
}

// TestEntraOrganizationsRefreshAnyTenant: with AnyTenant too, a refreshed
// ID token must have the issuer of the login's (OpenID Connect Core
// §12.2), so another tenant's is refused.
func TestEntraOrganizationsRefreshAnyTenant(t *testing.T) {
	p := providers.Entra("organizations", entraClient, entraSecret)
	p.MultiTenant.AnyTenant = true
	p.ExpiredHintAccepted = false
	op := entraOrganizationsFake(t, entraTenant, "https://"+entraHost+"/"+entraTenant+"/v2.0")
	op.refresh = true
	op.idTTL = 2 * time.Minute
	n := newInternet()
	n.handle(entraHost, op)
	var skew atomic.Int64
	a := newApp(t, n, func(c *middleware.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}, p)
	a.login(p.Name)
	skew.Store(int64(10 * time.Minute))
	op.mu.Lock()
	op.idTTL = time.Hour
	op.claims["tid"] = entraOtherTenant
	op.tokenIss = "https://" + entraHost + "/" + entraOtherTenant + "/v2.0"
	op.mu.Unlock()
	a.follow(a.get(a.expectRedirect(a.logout(""))))
	for _, s := range a.lastReport().Steps {
		if s.Name == "provider.refresh_id_token" && s.OK {
			t.Errorf("a refreshed ID token of another tenant was taken: %+v", s)
		}
	}
	if ok, seen := stepsOf(a.lastReport())["provider.refresh_id_token"]; !seen || ok {
		t.Errorf("steps %+v", a.lastReport().Steps)
	}
}
