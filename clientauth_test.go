package endsession_test

// End-to-end tests of client authentication with a signed assertion
// (private_key_jwt, RFC 7523) and of pushed authorization requests
// (RFC 9126), against the development provider.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

var (
	appRSA, _    = rsa.GenerateKey(rand.Reader, 2048)
	appP256, _   = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherP256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
)

// withClientKey makes the application a private_key_jwt client signing
// with key, registered at the provider with registered (its public key),
// and with no secret on either side unless keepSecret.
func withClientKey(key crypto.Signer, registered crypto.PublicKey, keepSecret bool) stackOption {
	return func(op *devprovider.Config, mw *middleware.Config) {
		if op != nil {
			op.Clients[0].AuthMethod = devprovider.AuthPrivateKeyJWT
			op.Clients[0].PublicKey = registered
			if !keepSecret {
				op.Clients[0].Secret = ""
			}
		}
		if mw != nil {
			mw.Providers[0].ClientKey = &providers.ClientKey{Signer: key, KeyID: "app-key-1"}
			if !keepSecret {
				mw.Providers[0].ClientSecret = ""
			}
		}
	}
}

// requestsTo returns the provider's requests to endpoint, noting every
// client assertion as a secret.
func (s *stack) requestsTo(endpoint devprovider.Endpoint) []devprovider.Request {
	var out []devprovider.Request
	for _, r := range s.op.Requests() {
		if r.Form != nil {
			s.noteSecret(r.Form.Get("client_assertion"))
		}
		if r.Path == string(endpoint) {
			out = append(out, r)
		}
	}
	return out
}

// assertKeyAuthenticated checks that r carries a client assertion for
// audience and neither a secret nor Basic credentials.
func assertKeyAuthenticated(t *testing.T, what string, r devprovider.Request, audience string) {
	t.Helper()
	if _, _, basic := (&http.Request{Header: r.Header}).BasicAuth(); basic || r.Form.Has("client_secret") {
		t.Errorf("%s: a secret was sent", what)
	}
	if r.Form.Get("client_assertion_type") != providers.ClientAssertionType {
		t.Fatalf("%s: client_assertion_type = %q", what, r.Form.Get("client_assertion_type"))
	}
	c := jwtClaims(t, r.Form.Get("client_assertion"))
	if c["iss"] != "app" || c["sub"] != "app" || c["aud"] != audience {
		t.Errorf("%s: assertion iss %v sub %v aud %v", what, c["iss"], c["sub"], c["aud"])
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 60 {
		t.Errorf("%s: the assertion lives %vs, want 60", what, exp-iat)
	}
}

func TestPrivateKeyJWTLoginRefreshAndRevocation(t *testing.T) {
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{{"RS256", appRSA}, {"ES256", appP256}} {
		t.Run(tc.alg, func(t *testing.T) {
			s := newStack(t, withClientKey(tc.key, tc.key.Public(), false))
			tokenURL := s.op.Issuer() + "/token"
			s.login()
			before := body(s.get("/token"))
			s.advance(5 * time.Minute)
			if got := body(s.get("/token")); got == before || got == "no token" {
				t.Fatalf("no refreshed token: %q then %q", before, got)
			}
			s.logoutRedirect()
			var grants []string
			jtis := map[any]bool{}
			for _, r := range s.requestsTo(devprovider.Token) {
				grants = append(grants, r.Form.Get("grant_type"))
				assertKeyAuthenticated(t, r.Form.Get("grant_type"), r, tokenURL)
				jtis[jwtClaims(t, r.Form.Get("client_assertion"))["jti"]] = true
			}
			if len(grants) < 2 || grants[0] != "authorization_code" || grants[1] != "refresh_token" || len(jtis) != len(grants) {
				t.Errorf("token requests %v with %d distinct jti", grants, len(jtis))
			}
			revocations := s.requestsTo(devprovider.Revocation)
			if len(revocations) != 2 {
				t.Fatalf("%d revocation requests, want 2", len(revocations))
			}
			for _, r := range revocations {
				assertKeyAuthenticated(t, "revocation", r, tokenURL)
			}
			if st := s.step(t, "provider.revoke"); !st.OK || st.Detail != "revoked: refresh_token access_token" {
				t.Errorf("step %+v", st)
			}
			s.assertNoLeak(t)
		})
	}
}

// loginAuthorizeURL starts a login and returns where the browser is sent.
func (s *stack) loginAuthorizeURL(t *testing.T) *url.URL {
	t.Helper()
	resp := s.get("/auth/login?return_to=/profile")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", resp.StatusCode, body(resp))
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPushedAuthorizationLogin(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []stackOption
	}{
		{"asked for", []stackOption{withMW(func(c *middleware.Config) { c.Providers[0].PushedAuthorization = true })}},
		{"required by the provider", []stackOption{withOP(func(op *devprovider.Config) { op.RequirePushedAuthorization = true })}},
		{"with private_key_jwt", []stackOption{withClientKey(appP256, appP256.Public(), false),
			withMW(func(c *middleware.Config) { c.Providers[0].PushedAuthorization = true })}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.opts...)
			authorize := s.loginAuthorizeURL(t)
			q := authorize.Query()
			if len(q) != 2 || q.Get("client_id") != "app" || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
				t.Fatalf("the browser carries %v, want only client_id and request_uri", q)
			}
			if authorize.Scheme+"://"+authorize.Host+authorize.Path != s.op.Issuer()+"/authorize" {
				t.Errorf("authorize at %s", authorize)
			}
			pushed := s.requestsTo(devprovider.PushedAuthorization)
			if len(pushed) != 1 {
				t.Fatalf("%d pushed requests, want 1", len(pushed))
			}
			f := pushed[0].Form
			for _, p := range []string{"state", "nonce", "code_challenge", "redirect_uri", "scope"} {
				if f.Get(p) == "" {
					t.Errorf("the pushed request lacks %s", p)
				}
			}
			if strings.Contains(tc.name, "private_key_jwt") {
				assertKeyAuthenticated(t, "pushed request", pushed[0], s.op.Issuer()+"/token")
			} else if u, p, ok := (&http.Request{Header: pushed[0].Header}).BasicAuth(); !ok || u != "app" || p != "app-secret" {
				t.Error("the pushed request was not authenticated with client_secret_basic")
			}
			resp, _ := s.follow(s.get(authorize.String()))
			if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "email=alice@example.com") {
				t.Fatalf("login through PAR: %d %s", resp.StatusCode, body(resp))
			}
			s.requestsTo(devprovider.Token)
			s.assertNoLeak(t)
		})
	}
}

func TestPushedAuthorizationNotUsedWithoutAnEndpoint(t *testing.T) {
	s := newStack(t, withMW(func(c *middleware.Config) { c.Providers[0].PushedAuthorization = true }))
	s.setAnswer(devprovider.Discovery, func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		s.op.ServeHTTP(rec, r)
		var doc map[string]any
		json.Unmarshal(rec.Body.Bytes(), &doc)
		delete(doc, "pushed_authorization_request_endpoint")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	if q := s.loginAuthorizeURL(t).Query(); q.Has("request_uri") || q.Get("state") == "" {
		t.Fatalf("authorize query %v: PAR without an advertised endpoint", q)
	}
}

func TestRevocationUsesAMethodItsEndpointSupports(t *testing.T) {
	s := newStack(t, withClientKey(appP256, appP256.Public(), true),
		withOP(func(op *devprovider.Config) { op.RevocationAuthMethods = []string{devprovider.AuthSecretPost} }))
	s.login()
	s.logoutRedirect()
	revocations := s.requestsTo(devprovider.Revocation)
	if len(revocations) != 2 {
		t.Fatalf("%d revocation requests, want 2", len(revocations))
	}
	for _, r := range revocations {
		if r.Form.Has("client_assertion") || r.Form.Get("client_id") != "app" || r.Form.Get("client_secret") != "app-secret" {
			t.Errorf("revocation not authenticated with client_secret_post: %v", r.Form.Has("client_assertion"))
		}
	}
	for _, r := range s.requestsTo(devprovider.Token) {
		assertKeyAuthenticated(t, "token", r, s.op.Issuer()+"/token")
	}
	if st := s.step(t, "provider.revoke"); !st.OK {
		t.Errorf("step %+v", st)
	}
}

func TestHostileClientAuthentication(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []stackOption
		status int
	}{
		{"the provider refuses the assertion", []stackOption{withClientKey(appP256, otherP256.Public(), false)}, http.StatusInternalServerError},
		{"the pushed request refused", []stackOption{withClientKey(appP256, otherP256.Public(), false),
			withMW(func(c *middleware.Config) { c.Providers[0].PushedAuthorization = true })}, http.StatusInternalServerError},
		{"the PAR endpoint down", []stackOption{
			withMW(func(c *middleware.Config) { c.Providers[0].PushedAuthorization = true })}, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.opts...)
			if tc.status == http.StatusBadGateway {
				s.op.Fail(devprovider.PushedAuthorization, devprovider.Fault{Status: http.StatusServiceUnavailable})
			}
			resp := s.loginUntilFailure()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body(resp))
			}
			s.assertErrorPage(t, resp)
			s.assertNoSession(t, resp)
			if tc.status == http.StatusInternalServerError && !strings.Contains(s.logs.String(), "ClientKey") {
				t.Error("the log does not say what to fix")
			}
			s.requestsTo(devprovider.Token)
			s.assertNoLeak(t, body(resp))
		})
	}
}

func TestHostilePushedAuthorizationAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer http.HandlerFunc
		status int
	}{
		{"no request_uri", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"expires_in":60,"note":"secret-provider-text"}`))
		}, http.StatusInternalServerError},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("<html>secret-provider-text</html>"))
		}, http.StatusInternalServerError},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"request_uri":"urn:x","pad":"` + strings.Repeat("secret-provider-text", 1<<16) + `"}`))
		}, http.StatusInternalServerError},
		{"an error with the provider's text", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"invalid_request","error_description":"secret-provider-text ` + r.PostForm.Get("state") + `"}`))
		}, http.StatusInternalServerError},
		{"a request_uri that is not a URI", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"request_uri":"secret-provider-text\n","expires_in":60}`))
		}, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, withMW(func(c *middleware.Config) { c.Providers[0].PushedAuthorization = true }))
			s.setAnswer(devprovider.PushedAuthorization, func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				tc.answer(w, r)
			})
			resp := s.get("/auth/login?return_to=/profile")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body(resp))
			}
			s.assertErrorPage(t, resp)
			for _, c := range resp.Cookies() {
				if strings.Contains(c.Name, "flow") && c.MaxAge >= 0 {
					t.Errorf("a failed login left a flow cookie %s", c.Name)
				}
			}
			if strings.Contains(s.logs.String(), "secret-provider-text") || strings.Contains(body(resp), "secret-provider-text") {
				t.Error("the provider's text reached the logs or the page")
			}
		})
	}
}
