package endsession_test

// Faults at the provider, injected with devprovider's Fail: clear answers
// within the configured timeouts, nothing left running, and recovery.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// shortTimeouts makes the middleware give up on the provider quickly.
func shortTimeouts(_ *devprovider.Config, mw *middleware.Config) {
	if mw != nil {
		mw.ProviderTimeout = time.Second
		mw.LogoutTimeout = time.Second
	}
}

// ownClient gives the middleware an HTTP client of the application's,
// without a timeout of its own.
func ownClient(_ *devprovider.Config, mw *middleware.Config) {
	if mw != nil {
		mw.HTTPClient = &http.Client{}
	}
}

// goroutines returns the number of goroutines once idle connections are
// closed.
func goroutines() int {
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	return runtime.NumGoroutine()
}

// assertSettles waits for the goroutines to come back to baseline, and
// fails with their stacks if they do not within two seconds.
func assertSettles(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if goroutines() <= baseline {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("%d goroutines left running, %d before:\n%s", goroutines(), baseline, buf)
}

// loginUntilFailure runs a login as far as it goes and returns the
// middleware's answer: the login route's, or the callback's.
func (s *stack) loginUntilFailure() *http.Response {
	s.t.Helper()
	r := s.get("/auth/login?return_to=/profile")
	if r.StatusCode != http.StatusFound {
		return r
	}
	r = s.get(r.Header.Get("Location"))
	return s.get(r.Header.Get("Location"))
}

func TestProviderFaultsAtLogin(t *testing.T) {
	down := devprovider.Fault{Status: http.StatusServiceUnavailable}
	slow := devprovider.Fault{Delay: 5 * time.Second}
	cases := []struct {
		name     string
		endpoint devprovider.Endpoint
		fault    devprovider.Fault
		status   int
		opts     []stackOption
	}{
		{"discovery down", devprovider.Discovery, down, 502, nil},
		{"discovery slow", devprovider.Discovery, slow, 504, nil},
		{"token endpoint down", devprovider.Token, down, 502, nil},
		{"token endpoint slow", devprovider.Token, slow, 504, nil},
		{"keys down", devprovider.JWKS, down, 502, nil},
		{"keys slow", devprovider.JWKS, slow, 504, nil},
		{"keys slow, the application's client without timeout", devprovider.JWKS, slow, 504, []stackOption{ownClient}},
		{"token endpoint slow, the application's client without timeout", devprovider.Token, slow, 504, []stackOption{ownClient}},
		{"userinfo down", devprovider.UserInfo, down, 502, nil},
		{"userinfo slow", devprovider.UserInfo, slow, 504, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, append(tc.opts, shortTimeouts)...)
			baseline := goroutines()
			s.op.Fail(tc.endpoint, tc.fault)
			start := time.Now()
			resp := s.loginUntilFailure()
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("the failed login took %v; ProviderTimeout is 1s and the provider 5s late", took)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body(resp))
			}
			want := "could not be reached"
			if tc.status == http.StatusGatewayTimeout {
				want = "did not answer in time"
			}
			if !strings.Contains(body(resp), want) {
				t.Errorf("the page does not say %q: %s", want, body(resp))
			}
			s.assertNoSession(t, resp)
			s.assertNoLeak(t, body(resp))
			s.assertErrorPage(t, resp)
			assertSettles(t, baseline)

			// Back up: the next login works (a failed discovery is retried
			// after a short delay).
			s.op.Recover(tc.endpoint)
			s.advance(3 * time.Second)
			if r, _ := s.follow(s.get("/profile")); r.StatusCode != http.StatusOK {
				t.Fatalf("login after the provider recovered: %d %s", r.StatusCode, body(r))
			}
		})
	}
}

// count counts the provider's requests to endpoint.
func (s *stack) count(endpoint devprovider.Endpoint) int {
	n := 0
	for _, r := range s.op.Requests() {
		if r.Path == string(endpoint) {
			n++
		}
	}
	return n
}

func TestDiscoveryUnreachableAtStartup(t *testing.T) {
	s := newStack(t)
	s.op.Fail(devprovider.Discovery, devprovider.Fault{Status: http.StatusServiceUnavailable})
	s.restart(nil) // New makes no call: the application starts.
	if r := s.get("/"); r.StatusCode != http.StatusOK {
		t.Fatalf("the application does not answer: %d", r.StatusCode)
	}
	if r := s.get("/auth/login"); r.StatusCode != http.StatusBadGateway {
		t.Fatalf("login with discovery down: %d", r.StatusCode)
	}
	s.op.Recover(devprovider.Discovery)
	asked := s.count(devprovider.Discovery)
	if r := s.get("/auth/login"); r.StatusCode != http.StatusBadGateway || s.count(devprovider.Discovery) != asked {
		t.Fatalf("a login right after the failure: %d, discovery asked %d more time(s); want the failure kept for a moment",
			r.StatusCode, s.count(devprovider.Discovery)-asked)
	}
	s.advance(3 * time.Second)
	s.login()
}

func TestProviderKeyRotation(t *testing.T) {
	s := newStack(t)
	s.login()
	fetches := s.count(devprovider.JWKS)
	s.op.RotateKey()
	s.client = newBrowser(t)
	s.login()
	if got := s.count(devprovider.JWKS) - fetches; got != 1 {
		t.Errorf("a token under the new key fetched the keys %d time(s), want once", got)
	}
	s.client = newBrowser(t)
	s.login()
	if got := s.count(devprovider.JWKS) - fetches; got != 1 {
		t.Errorf("the keys were fetched again for a known key: %d fetches", got)
	}
}

// signWithKid signs claims with a key the provider never published, under
// the key id kid.
func signWithKid(t *testing.T, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestUnknownKeyIDsDoNotHammerTheProvider(t *testing.T) {
	s := newStack(t, withoutUserInfo)
	s.login()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s.setTokenHook(func(body, claims map[string]any) {
		body["id_token"] = signWithKid(t, key, rand.Text(), claims)
	})
	fetches := s.count(devprovider.JWKS)
	for i := range 30 {
		s.client = newBrowser(t)
		if r := s.loginUntilFailure(); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("token %d under an unknown key id: %d", i, r.StatusCode)
		}
	}
	if got := s.count(devprovider.JWKS) - fetches; got > 1 {
		t.Errorf("30 tokens under unknown key ids fetched the keys %d times, want at most once", got)
	}
	// Later, a rotation at the provider is still picked up.
	s.setTokenHook(nil)
	s.op.RotateKey()
	s.advance(time.Minute)
	s.client = newBrowser(t)
	s.login()
}

// TestUnknownKeyIDsAtTheBackchannel floods the back-channel logout route,
// which anyone can reach, with logout tokens under made-up key ids.
func TestUnknownKeyIDsAtTheBackchannel(t *testing.T) {
	s := newStack(t, withBackchannel)
	s.login()
	sid := s.sid()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// A first genuine token: the keys are fetched once.
	if r := s.postLogoutToken(s.op.LogoutToken("app", "bob", "", nil)); r.StatusCode != http.StatusOK {
		t.Fatalf("a genuine token: %d", r.StatusCode)
	}
	fetches := s.count(devprovider.JWKS)
	for i := range 30 {
		if r := s.postLogoutToken(signWithKid(t, key, rand.Text(), s.logoutClaims(sid))); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("token %d under an unknown key id: %d", i, r.StatusCode)
		}
	}
	if got := s.count(devprovider.JWKS) - fetches; got > 1 {
		t.Errorf("30 logout tokens under unknown key ids fetched the keys %d times, want at most once", got)
	}
	if s.loggedOut() {
		t.Fatal("a forged logout token ended the session")
	}
}

// serverCallLogout ends the provider's session server to server, as some
// providers require, then lands locally.
type serverCallLogout struct{ url string }

func (l serverCallLogout) EndSession(ctx context.Context, req *providers.LogoutRequest) (providers.Action, error) {
	form := url.Values{"id_token_hint": {req.IDToken}}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, strings.NewReader(form.Encode()))
	if err != nil {
		return providers.Action{}, err
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := req.HTTPClient.Do(r)
	if err != nil {
		return providers.Action{}, err
	}
	resp.Body.Close()
	call := fmt.Sprintf("POST %s: %d", l.url, resp.StatusCode)
	if resp.StatusCode >= 400 {
		return providers.Action{Calls: []string{call}}, errors.New("the provider answered " + resp.Status)
	}
	return providers.Action{Calls: []string{call}}, nil
}

// loggedOutBy logs out and follows to the application's page, checking
// that the logout response itself expired every session cookie.
func (s *stack) loggedOutBy(t *testing.T) (*http.Response, time.Duration) {
	t.Helper()
	before := s.sessionCookies()
	start := time.Now()
	resp := s.postLogout(s.appURL)
	took := time.Since(start)
	expired := map[string]bool{}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			expired[c.Name] = true
		}
	}
	for _, c := range before {
		if !expired[c.Name] {
			t.Errorf("the logout response did not expire %s", c.Name)
		}
	}
	final, _ := s.follow(resp)
	return final, took
}

func TestProviderFaultsAtLogout(t *testing.T) {
	serverCall := func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			mw.Providers[0].Logout = serverCallLogout{url: mw.Providers[0].Issuer + string(devprovider.EndSession)}
		}
	}
	cases := []struct {
		name  string
		opts  []stackOption
		fault func(s *stack)
		step  string
	}{
		{"server call refused", []stackOption{serverCall}, func(s *stack) {
			s.op.Fail(devprovider.EndSession, devprovider.Fault{Status: http.StatusInternalServerError})
		}, "provider.end_session"},
		{"server call slow", []stackOption{shortTimeouts, serverCall}, func(s *stack) {
			s.op.Fail(devprovider.EndSession, devprovider.Fault{Delay: 5 * time.Second})
		}, "provider.end_session"},
		{"discovery down after a restart", nil, func(s *stack) {
			s.op.Fail(devprovider.Discovery, devprovider.Fault{Status: http.StatusServiceUnavailable})
			s.restart(nil)
		}, "provider.discovery"},
		{"discovery slow after a restart", []stackOption{shortTimeouts}, func(s *stack) {
			s.op.Fail(devprovider.Discovery, devprovider.Fault{Delay: 5 * time.Second})
			s.restart(nil)
		}, "provider.discovery"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.opts...)
			s.login()
			baseline := goroutines()
			tc.fault(s)
			final, took := s.loggedOutBy(t)
			if took > 4*time.Second {
				t.Errorf("logout took %v with the provider down (LogoutTimeout 1s, the provider 5s late)", took)
			}
			if got := body(final); final.StatusCode != http.StatusOK || got != "home notice="+providers.NoticeProviderUnreachable {
				t.Fatalf("landed on %d %q, want the home page with the provider-unreachable notice", final.StatusCode, got)
			}
			if r := s.get("/profile"); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("still signed in after logout: %d", r.StatusCode)
			}
			s.mu.Lock()
			rep := s.reports[len(s.reports)-1]
			s.mu.Unlock()
			failed := false
			for _, st := range rep.Steps {
				failed = failed || (st.Name == tc.step && !st.OK)
				if st.Name == "session.delete" && !st.OK {
					t.Errorf("local deletion failed: %s", st.Detail)
				}
			}
			if !failed {
				t.Errorf("the report does not show %s failing: %+v", tc.step, rep.Steps)
			}
			s.assertNoLeak(t, body(final))
			assertSettles(t, baseline)
		})
	}
}
