package endsession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// recordingObserver notes every event and provider call it is told of.
type recordingObserver struct {
	mu     sync.Mutex
	events []string
	calls  []string
	// ends counts the calls whose end was reported, by endpoint.
	ends map[string]int
	urls []*url.URL
	// text is everything the observer was given, for the leak check.
	text strings.Builder
}

func (o *recordingObserver) Observe(_ context.Context, e middleware.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := fmt.Sprintf("%s provider=%s %s", e.Kind, e.Provider, e.Outcome)
	if e.Code != "" {
		s += " code=" + e.Code
	}
	if e.Route != "" {
		s += " route=" + e.Route
	}
	if e.Reason != "" {
		s += " reason=" + string(e.Reason)
	}
	if e.Kind == middleware.EventLogout && e.Report == nil {
		s += " without report"
	}
	o.events = append(o.events, strings.Join(strings.Fields(s), " "))
	cp := e
	cp.Report = nil
	fmt.Fprintf(&o.text, "%+v\n", cp)
	if e.Report != nil {
		fmt.Fprintf(&o.text, "%+v\n", *e.Report)
	}
}

type callMark struct{}

func (o *recordingObserver) ProviderCall(ctx context.Context, c middleware.ProviderCall) (context.Context, func(int, error)) {
	o.mu.Lock()
	o.calls = append(o.calls, c.Provider+" "+c.Endpoint+" "+c.Method)
	o.urls = append(o.urls, c.URL)
	fmt.Fprintf(&o.text, "%s %s %s %s\n", c.Provider, c.Endpoint, c.Method, c.URL)
	o.mu.Unlock()
	c.Header.Set("X-Observed", c.Endpoint)
	return context.WithValue(ctx, callMark{}, c.Endpoint), func(status int, err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.ends == nil {
			o.ends = map[string]int{}
		}
		if status != 0 && err == nil {
			o.ends[c.Endpoint]++
		}
	}
}

// markCheckingTransport checks that each provider call is sent with the
// Observer's context and header.
type markCheckingTransport struct {
	mu  sync.Mutex
	bad []string
}

func (t *markCheckingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	mark, _ := req.Context().Value(callMark{}).(string)
	if mark == "" || req.Header.Get("X-Observed") != mark {
		t.mu.Lock()
		t.bad = append(t.bad, req.Method+" "+req.URL.Path)
		t.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestObserverIsToldOfEventsAndProviderCalls runs a login, a refresh, a
// logout, rejected inputs and a back-channel logout with an Observer: it
// is told of each, and of every call to the provider, by endpoint, which
// is sent with the context and header the Observer gave it. It is given
// no token, code, cookie value or personal claim.
func TestObserverIsToldOfEventsAndProviderCalls(t *testing.T) {
	obs := &recordingObserver{}
	tr := &markCheckingTransport{}
	s := newStack(t, withMW(func(c *middleware.Config) {
		c.Observer = obs
		c.HTTPClient = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}))
	s.login()
	s.advance(6 * time.Minute) // the access token expired: refreshed
	s.login()
	s.get("/auth/login?return_to=//evil.example")
	s.get("/auth/callback?state=x&code=y")
	s.rawGet(t, "/profile", "endsession=garbage")
	s.login()
	end := s.logoutRedirect()
	s.follow(s.get(end.String()))
	s.postLogoutToken("not-a-token")
	s.get("/auth/frontchannel-logout?iss=https://evil.example&sid=x")

	obs.mu.Lock()
	defer obs.mu.Unlock()
	for _, want := range []string{
		"login provider=dev ok",
		"refresh provider=dev ok",
		"rejected provider= code=invalid_return_to route=login",
		"rejected provider= code=invalid_state route=callback",
		"login provider= failed code=invalid_state",
		"rejected provider= code=invalid_cookie route=session",
		"logout provider=dev ok reason=user",
		"backchannel_logout provider= rejected code=invalid_request",
		"rejected provider= code=invalid_request route=backchannel_logout",
		"frontchannel_logout provider= rejected code=unknown_issuer",
	} {
		if !slices.Contains(obs.events, want) {
			t.Errorf("no event %q in %q", want, obs.events)
		}
	}
	for _, want := range []string{"dev discovery GET", "dev keys GET", "dev token POST", "dev userinfo GET", "dev revocation POST"} {
		if !slices.Contains(obs.calls, want) {
			t.Errorf("no provider call %q in %q", want, obs.calls)
		}
	}
	for _, c := range obs.calls {
		if strings.Contains(c, "other") || strings.HasPrefix(c, " ") {
			t.Errorf("a provider call without its provider or endpoint: %q", c)
		}
	}
	if obs.ends["token"] < 2 || obs.ends["discovery"] != 1 {
		t.Errorf("ends reported: %v", obs.ends)
	}
	for _, u := range obs.urls {
		if u.RawQuery != "" || u.User != nil || u.Host == "" {
			t.Errorf("a provider call's URL %v has a query or user, or no host", u)
		}
	}
	s.assertNoLeak(t, obs.text.String())
	for _, p := range personal {
		if strings.Contains(obs.text.String(), p) {
			t.Errorf("the Observer was given personal data %q", p)
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.bad) != 0 {
		t.Errorf("calls sent without the Observer's context and header: %q", tr.bad)
	}
}

// serverLogout is a logout strategy that ends the provider's session
// with a server-to-server call to its end-session endpoint.
type serverLogout struct{ url string }

func (l serverLogout) EndSession(ctx context.Context, req *providers.LogoutRequest) (providers.Action, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url+"?id_token_hint="+url.QueryEscape(req.IDToken), nil)
	if err != nil {
		return providers.Action{}, err
	}
	resp, err := req.HTTPClient.Do(r)
	if err != nil {
		return providers.Action{}, err
	}
	resp.Body.Close()
	return providers.Action{Calls: []string{"GET end_session"}}, nil
}

// TestObserverSeesServerToServerLogout: a logout strategy's calls are
// provider calls of the end_session endpoint, without their query.
func TestObserverSeesServerToServerLogout(t *testing.T) {
	obs := &recordingObserver{}
	s := newStack(t, withMW(func(c *middleware.Config) { c.Observer = obs }))
	s.restart(func(c *middleware.Config) {
		c.Providers[0].Logout = serverLogout{url: s.op.Issuer() + string(devprovider.EndSession)}
	})
	s.login()
	s.postLogout(s.appURL)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !slices.Contains(obs.calls, "dev end_session GET") {
		t.Fatalf("no end_session call in %q", obs.calls)
	}
	for _, u := range obs.urls {
		if u.RawQuery != "" {
			t.Errorf("a provider call's URL %v has a query", u)
		}
	}
	if !slices.Contains(obs.events, "logout provider=dev ok reason=user") {
		t.Errorf("no logout event in %q", obs.events)
	}
}

// TestObserverSeesPushedAuthorization: a pushed authorization request is
// a provider call of its own endpoint.
func TestObserverSeesPushedAuthorization(t *testing.T) {
	obs := &recordingObserver{}
	s := newStack(t, withMW(func(c *middleware.Config) {
		c.Observer = obs
		c.Providers[0].PushedAuthorization = true
	}))
	s.login()
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !slices.Contains(obs.calls, "dev pushed_authorization POST") {
		t.Fatalf("no pushed_authorization call in %q", obs.calls)
	}
}
