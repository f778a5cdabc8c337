package endsession_test

// Mix-up (RFC 9700 §4.4): with an honest provider that sends no iss and a
// hostile one configured next to it, the hostile provider must not get
// the honest provider's code for the victim redeemed at its own token
// endpoint.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// hostileProvider is a second development provider, which does not
// advertise RFC 9207, whose authorization
// endpoint sends the browser on to the honest provider's, with the
// request it got (redirect_uri set to honestCallback, the callback the
// application registered at the honest provider), and which counts the
// codes its token endpoint is given.
type hostileProvider struct {
	op       *devprovider.Server
	server   *httptest.Server
	redeemed atomic.Int32
	// honestAuthorize and honestCallback, when set, turn the mix-up on.
	honestAuthorize, honestCallback string
}

func newHostileProvider(t *testing.T, appURL string) *hostileProvider {
	t.Helper()
	h := &hostileProvider{}
	h.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == string(devprovider.Authorize) && h.honestAuthorize != "":
			q := r.URL.Query()
			q.Set("redirect_uri", h.honestCallback)
			http.Redirect(w, r, h.honestAuthorize+"?"+q.Encode(), http.StatusFound)
			return
		case r.URL.Path == string(devprovider.Token):
			h.redeemed.Add(1)
		case r.URL.Path == string(devprovider.Discovery):
			// It does not say it sends iss (RFC 9207), so none is required.
			rec := httptest.NewRecorder()
			h.op.ServeHTTP(rec, r)
			var doc map[string]any
			json.Unmarshal(rec.Body.Bytes(), &doc)
			delete(doc, "authorization_response_iss_parameter_supported")
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc)
			return
		}
		h.op.ServeHTTP(w, r)
	}))
	t.Cleanup(h.server.Close)
	var err error
	h.op, err = devprovider.New(devprovider.Config{
		Issuer: h.server.URL,
		Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret",
			RedirectURIs: []string{appURL + "/auth/callback", appURL + "/auth/callback/evil"},
		}},
		AutoLogin: "alice",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.op.Close() })
	return h
}

// withoutIss makes the honest provider's authorization responses carry no
// iss, as providers configured by explicit endpoints may.
func (s *stack) withoutIss() {
	s.setAnswer(devprovider.Authorize, func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		s.op.ServeHTTP(rec, r)
		if loc, err := url.Parse(rec.Header().Get("Location")); err == nil && loc.Query().Has("code") {
			q := loc.Query()
			s.noteSecret(q.Get("code"))
			q.Del("iss")
			loc.RawQuery = q.Encode()
			rec.Header().Set("Location", loc.String())
		}
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// twoProviders is a stack with the honest development provider, "dev",
// configured by explicit endpoints (so without RFC 9207), and a hostile
// one, "evil".
func twoProviders(t *testing.T) (*stack, *hostileProvider) {
	var h *hostileProvider
	s := newStack(t,
		withOP(func(c *devprovider.Config) {
			c.Clients[0].RedirectURIs = append(c.Clients[0].RedirectURIs, c.Clients[0].RedirectURIs[0]+"/dev")
		}),
		func(_ *devprovider.Config, mw *middleware.Config) {
			if mw == nil {
				return
			}
			h = newHostileProvider(t, mw.AppURL)
			dev := mw.Providers[0].Issuer
			mw.Providers[0].Endpoints = providers.Endpoints{
				AuthURL: dev + "/authorize", TokenURL: dev + "/token", JWKSURL: dev + "/jwks", UserInfoURL: dev + "/userinfo",
			}
			mw.Providers = append(mw.Providers, providers.Provider{
				Name: "evil", Issuer: h.server.URL, ClientID: "app", ClientSecret: "app-secret",
			})
		})
	s.withoutIss()
	return s, h
}

func TestMixUpCannotRedeemAnotherProvidersCode(t *testing.T) {
	s, h := twoProviders(t)
	// The attacker learns, from a login of their own, the callback the
	// application registered at the honest provider.
	own, _ := url.Parse(s.get("/auth/login?provider=dev").Header.Get("Location"))
	h.honestAuthorize = s.op.Issuer() + string(devprovider.Authorize)
	h.honestCallback = own.Query().Get("redirect_uri")

	// The victim is sent to sign in with the hostile provider, which
	// passes the request on to the honest one; the honest one signs the
	// victim in and sends its code back to the application.
	login := s.get("/auth/login?provider=evil")
	authorize, _ := url.Parse(login.Header.Get("Location"))
	if got := authorize.Query().Get("redirect_uri"); got != s.appURL+"/auth/callback/evil" {
		t.Errorf("the hostile provider's login asks for redirect_uri %q; want its own callback", got)
	}
	toHonest := s.get(login.Header.Get("Location"))
	atHonest := s.get(toHonest.Header.Get("Location"))
	callback := atHonest.Header.Get("Location")
	if !strings.Contains(callback, "code=") {
		t.Fatalf("the honest provider sent no code: %s", callback)
	}
	resp := s.get(callback)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the mixed-up callback answered %d, want 400", resp.StatusCode)
	}
	if n := h.redeemed.Load(); n != 0 {
		t.Fatalf("the honest provider's code was sent to the hostile token endpoint (%d request(s))", n)
	}
	s.assertNoSession(t, resp)
	s.assertNoLeak(t, body(resp))
	s.assertErrorPage(t, resp)
	if !strings.Contains(s.logs.String(), `"code":"invalid_callback"`) {
		t.Error("the logs do not name the mixed-up callback")
	}
}

func TestSeveralProvidersEachHaveTheirCallback(t *testing.T) {
	s, h := twoProviders(t)
	for _, name := range []string{"dev", "evil"} {
		login := s.get("/auth/login?provider=" + name + "&return_to=/profile")
		authorize, _ := url.Parse(login.Header.Get("Location"))
		if got, want := authorize.Query().Get("redirect_uri"), s.appURL+"/auth/callback/"+name; got != want {
			t.Errorf("%s: redirect_uri %q, want %q", name, got, want)
		}
		resp, _ := s.follow(login)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "provider="+name) {
			t.Fatalf("%s: login ended with %d %s", name, resp.StatusCode, body(resp))
		}
		s.logoutLocally(t)
	}
	if h.redeemed.Load() != 1 {
		t.Errorf("the second provider redeemed %d codes, want 1", h.redeemed.Load())
	}
	// The shared callback of a single provider is no route of either.
	login := s.get("/auth/login?provider=dev")
	at := s.get(login.Header.Get("Location"))
	cb, _ := url.Parse(at.Header.Get("Location"))
	cb.Path = "/auth/callback"
	if resp := s.get(cb.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a response at /auth/callback with two providers answered %d, want 400", resp.StatusCode)
	}
}
