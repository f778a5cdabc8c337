package endsession_test

// Start-up and misconfiguration: the URLs to register logged once, a
// check of every provider before serving, error pages that tell a site
// misconfigured from a provider down, and a hint for requests on another
// host than AppURL's.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// recordsWith returns the log records whose message is msg.
func (s *stack) recordsWith(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, rec := range s.logRecords(t) {
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// withSecondProvider adds a second provider, "other", served by the same
// development provider, with both callbacks registered.
func withSecondProvider(op *devprovider.Config, mw *middleware.Config) {
	if op != nil {
		c := &op.Clients[0]
		base := strings.TrimSuffix(c.RedirectURIs[0], "/auth/callback")
		c.RedirectURIs = append(c.RedirectURIs, base+"/auth/callback/dev", base+"/auth/callback/other")
	}
	if mw != nil {
		other := mw.Providers[0]
		other.Name = "other"
		mw.Providers = append(mw.Providers, other)
	}
}

func TestNewLogsTheURLsToRegister(t *testing.T) {
	s := newStack(t, withSecondProvider)
	s.loginWith("dev")
	s.loginWith("other")
	recs := s.recordsWith(t, "URLs to register at the provider")
	if len(recs) != 2 {
		t.Fatalf("%d records of the URLs to register, want one per provider (2):\n%s", len(recs), s.logs.String())
	}
	for i, name := range []string{"dev", "other"} {
		rec := recs[i]
		want := map[string]any{
			"level":                    "INFO",
			"event":                    "config",
			"provider":                 name,
			"redirect_uri":             s.appURL + "/auth/callback/" + name,
			"post_logout_redirect_uri": s.appURL + "/auth/logged-out",
			"backchannel_logout_uri":   s.appURL + "/auth/backchannel-logout",
			"frontchannel_logout_uri":  s.appURL + "/auth/frontchannel-logout",
		}
		for k, v := range want {
			if rec[k] != v {
				t.Errorf("provider %s: %s = %v, want %v", name, k, rec[k], v)
			}
		}
	}

	// With one provider, its callback is /auth/callback; a provider without
	// a login (a server-to-server logout only) has no redirect URI.
	s = newStack(t, withMW(func(c *middleware.Config) {
		c.Providers = append(c.Providers, providers.Provider{Name: "device", Logout: serverCallLogout{}})
	}))
	recs = s.recordsWith(t, "URLs to register at the provider")
	if len(recs) != 2 || recs[0]["redirect_uri"] != s.appURL+"/auth/callback" {
		t.Fatalf("one login provider: %v", recs)
	}
	if _, ok := recs[1]["redirect_uri"]; ok || recs[1]["provider"] != "device" || recs[1]["post_logout_redirect_uri"] == nil {
		t.Errorf("a provider without login: %v", recs[1])
	}
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// discoveryWithIssuer answers the provider's discovery document with its
// issuer replaced.
func (s *stack) discoveryWithIssuer(issuer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		s.op.ServeHTTP(rec, r)
		var doc map[string]any
		json.Unmarshal(rec.Body.Bytes(), &doc)
		doc["issuer"] = issuer
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	}
}

func TestCheckProviders(t *testing.T) {
	s := newStack(t, withSecondProvider)
	if err := s.mw.CheckProviders(context.Background()); err != nil {
		t.Fatalf("healthy providers: %v", err)
	}
	// Checked, the provider is discovered already: a login asks no more.
	asked := s.count(devprovider.Discovery)
	s.loginWith("dev")
	s.loginWith("other")
	if s.count(devprovider.Discovery) != asked {
		t.Errorf("login after the check discovered again")
	}

	cases := []struct {
		name   string
		setup  func(s *stack)
		is     error
		phrase string
	}{
		{"unreachable", func(s *stack) {
			s.restart(func(c *middleware.Config) { c.Providers[1].Issuer = closedURL(t) })
		}, middleware.ErrProviderUnreachable, "could not be reached"},
		{"discovery 503", func(s *stack) {
			s.op.Fail(devprovider.Discovery, devprovider.Fault{Status: http.StatusServiceUnavailable})
		}, middleware.ErrProviderUnreachable, "could not be reached"},
		{"issuer mismatch", func(s *stack) {
			s.setAnswer(devprovider.Discovery, s.discoveryWithIssuer("https://elsewhere.example"))
		}, providers.ErrIssuerMismatch, "issuer"},
		{"no keys", func(s *stack) {
			s.setAnswer(devprovider.JWKS, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"keys":[]}`)
			})
		}, middleware.ErrNoKeys, "no keys"},
		{"keys 404", func(s *stack) {
			s.op.Fail(devprovider.JWKS, devprovider.Fault{Status: http.StatusNotFound})
		}, middleware.ErrProviderMisconfigured, "keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, withSecondProvider)
			tc.setup(s)
			err := s.mw.CheckProviders(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"other"`) || !strings.Contains(msg, tc.phrase) {
				t.Errorf("error %q does not name the provider \"other\" and say %q", msg, tc.phrase)
			}
			if tc.name == "unreachable" && strings.Contains(msg, `"dev"`) {
				t.Errorf("error %q names the healthy provider", msg)
			}
		})
	}
}

// loginWith signs alice in with the provider named name.
func (s *stack) loginWith(name string) {
	s.t.Helper()
	resp, _ := s.follow(s.get("/auth/login?provider=" + name + "&return_to=%2Fprofile"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "provider="+name) {
		s.t.Fatalf("login with %s: %d %q", name, resp.StatusCode, body(resp))
	}
}

// loginPage runs a login until the middleware answers it.
func (s *stack) loginPage(t *testing.T) *http.Response {
	t.Helper()
	resp := s.loginUntilFailure()
	return resp
}

func TestMisconfigurationIsNotAnOutage(t *testing.T) {
	const misconfigured = "Sign-in is misconfigured on this site"
	const unreachable = "could not be reached"
	cases := []struct {
		name   string
		opts   []stackOption
		setup  func(s *stack)
		status int
		page   string
		fix    string
	}{
		{"wrong client secret", []stackOption{withMW(func(c *middleware.Config) { c.Providers[0].ClientSecret = "not-the-secret" })},
			nil, http.StatusInternalServerError, misconfigured, "ClientSecret"},
		{"client authenticates the wrong way", []stackOption{withOP(func(c *devprovider.Config) { c.Clients[0].AuthMethod = devprovider.AuthSecretPost })},
			nil, http.StatusInternalServerError, misconfigured, "AuthMethod"},
		{"issuer mismatch", nil, func(s *stack) {
			s.setAnswer(devprovider.Discovery, s.discoveryWithIssuer(s.op.Issuer()+"/"))
		}, http.StatusInternalServerError, misconfigured, "Issuer"},
		{"ID tokens of another issuer", nil, func(s *stack) {
			// As with explicit endpoints and an Issuer that is not the
			// provider's: no discovery to compare it with.
			s.setTokenHook(func(body, claims map[string]any) {
				claims["iss"] = s.op.Issuer() + "/realms/other"
				body["id_token"] = s.op.SignIDToken(claims)
			})
		}, http.StatusInternalServerError, misconfigured, "Issuer"},
		{"discovery not found", nil, func(s *stack) {
			s.op.Fail(devprovider.Discovery, devprovider.Fault{Status: http.StatusNotFound})
		}, http.StatusInternalServerError, misconfigured, "Issuer"},
		{"provider unreachable", []stackOption{withMW(func(c *middleware.Config) { c.Providers[0].Issuer = closedURL(t) })},
			nil, http.StatusBadGateway, unreachable, ""},
		{"token endpoint 500", nil, func(s *stack) {
			s.op.Fail(devprovider.Token, devprovider.Fault{Status: http.StatusInternalServerError})
		}, http.StatusBadGateway, unreachable, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.opts...)
			if tc.setup != nil {
				tc.setup(s)
			}
			resp := s.loginPage(t)
			if resp.StatusCode != tc.status || !strings.Contains(body(resp), tc.page) {
				t.Fatalf("%d %q, want %d saying %q", resp.StatusCode, body(resp), tc.status, tc.page)
			}
			s.assertErrorPage(t, resp)
			s.assertNoSession(t, resp)
			s.assertNoLeak(t, body(resp))
			logs := s.logs.String()
			for _, text := range []string{"wrong client secret", "client must authenticate", "not-the-secret"} {
				if strings.Contains(logs, text) || strings.Contains(body(resp), text) {
					t.Errorf("the logs or the page hold the provider's text or the secret %q", text)
				}
			}
			if tc.fix == "" {
				if strings.Contains(body(resp), "misconfigured") {
					t.Errorf("an outage is called a misconfiguration")
				}
				return
			}
			var found bool
			for _, rec := range s.logRecords(t) {
				if fix, ok := rec["fix"].(string); ok && rec["level"] == "ERROR" {
					found = true
					if !strings.Contains(fix, tc.fix) || !strings.Contains(fix, `"dev"`) {
						t.Errorf("the fix %q does not name %s and the provider", fix, tc.fix)
					}
				}
			}
			if !found {
				t.Errorf("no error record says what to fix:\n%s", logs)
			}
		})
	}
}

// getOnHost sends a GET for path to the application with the Host header
// host.
func (s *stack) getOnHost(t *testing.T, host, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.appURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	return s.do(req)
}

func TestRequestsOnAnotherHostAreHinted(t *testing.T) {
	s := newStack(t)
	const hint = "request on another host than AppURL's"
	// The user came on localhost while AppURL names 127.0.0.1: the login's
	// cookie is set for localhost, and the callback on 127.0.0.1 has none.
	port := s.appURL[strings.LastIndexByte(s.appURL, ':')+1:]
	other := "localhost:" + port
	for range 5 {
		s.getOnHost(t, other, "/auth/login")
	}
	s.getOnHost(t, strings.ToUpper(s.appURL[len("http://"):]), "/")
	recs := s.recordsWith(t, hint)
	if len(recs) != 1 {
		t.Fatalf("%d hints for five requests on one other host, want 1:\n%s", len(recs), s.logs.String())
	}
	if recs[0]["host"] != other || recs[0]["app_host"] != s.appURL[len("http://"):] || recs[0]["level"] != "WARN" {
		t.Errorf("the hint does not name both hosts: %v", recs[0])
	}
	// A flood of made-up hosts is hinted a bounded number of times.
	for i := range 1000 {
		s.getOnHost(t, fmt.Sprintf("h%d.example:%s", i, port), "/")
	}
	if n := len(s.recordsWith(t, hint)); n > 1+100 {
		t.Errorf("%d hints for 1000 hosts; want them bounded", n)
	}
	if len(s.recordsWith(t, "requests on other hosts than AppURL's are no longer hinted")) != 1 {
		t.Errorf("the end of the hints is not said once")
	}
}
