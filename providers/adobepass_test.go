package providers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

const (
	adobeClient    = "dcr-client-id"
	adobeSecret    = "dcr-client-secret"
	adobeDevice    = "ba23d141-d715-561c-94f4-e9e4c966b1eb"
	adobeRequestor = "REF30"
	adobeMVPD      = "Cablevision"
	adobeInfo      = `{"model":"Roku","version":"5303X","osName":"Roku OS","osVersion":"12.5","connectionType":"WiFi","connectionIp":"203.0.113.7"}`
	adobeDeviceIP  = "203.0.113.7"
)

// adobeFake stands for Adobe Pass: the DCR token endpoint, the v1 and v2
// logout APIs, and the SP host's MVPD logout page.
type adobeFake struct {
	t *testing.T
	// refuse answers 401 to these tokens; refuseAll to every token.
	refuse    map[string]bool
	refuseAll bool
	// v1Status answers v1 logouts; default 204.
	v1Status int
	// v2Answer answers v2 logouts with 200 and this body.
	v2Answer string
	// event, when set, is told of each logout call.
	event func(string)

	mu     sync.Mutex
	log    []recorded
	issued int
}

func (f *adobeFake) requests(kind string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.log {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func (f *adobeFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := "other"
	switch {
	case r.URL.Path == "/o/client/token":
		kind = "dcr"
	case r.URL.Path == "/api/v1/logout":
		kind = "v1"
	case strings.HasPrefix(r.URL.Path, "/api/v2/"):
		kind = "v2"
	case r.URL.Path == "/adobe-services/logout":
		kind = "mvpd"
	}
	rec := record(kind, r)
	f.mu.Lock()
	f.log = append(f.log, rec)
	f.mu.Unlock()
	switch kind {
	case "dcr":
		if r.Method != http.MethodPost || rec.Form.Get("client_id") != adobeClient || rec.Form.Get("client_secret") != adobeSecret ||
			rec.Form.Get("grant_type") != "client_credentials" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client"})
			return
		}
		f.mu.Lock()
		f.issued++
		tok := fmt.Sprintf("tok-%d", f.issued)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"id": "a932f8f0", "access_token": tok,
			"created_at": time.Now().UnixMilli(), "expires_in": 21600, "token_type": "bearer"})
	case "v1", "v2":
		if f.event != nil {
			f.event("adobe." + kind)
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		refused := f.refuseAll || f.refuse[tok] || tok == ""
		f.mu.Unlock()
		if refused {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
			return
		}
		if kind == "v1" {
			if r.Method != http.MethodDelete || r.URL.Query().Get("deviceId") == "" || r.Header.Get("X-Device-Info") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			status := f.v1Status
			if status == 0 {
				status = http.StatusNoContent
			}
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Write([]byte(f.v2Answer))
	case "mvpd":
		http.Redirect(w, r, r.URL.Query().Get("redirect_url"), http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// deviceLogin records the device in a new session, as the application's
// device flow would.
func (a *app) deviceLogin() {
	a.t.Helper()
	q := url.Values{"provider": {"adobe"}, "device": {adobeDevice}, "info": {adobeInfo}, "requestor": {adobeRequestor}, "mvpd": {adobeMVPD}}
	resp, body := a.get(a.URL + "/device-login?" + q.Encode())
	if resp.StatusCode != http.StatusNoContent {
		a.t.Fatalf("device login: %s %s", resp.Status, body)
	}
	if d, ok := a.session(); !ok || d.Device == nil || d.Device.ID != adobeDevice {
		a.t.Fatalf("no device session: %+v", d)
	}
}

// checkLocalLogout checks the local session is gone, the application's
// erase hook ran, and the report tells how the provider call went.
func checkLocalLogout(t *testing.T, a *app, providerOK bool) middleware.LogoutReport {
	t.Helper()
	if _, ok := a.session(); ok {
		t.Error("the session survived the logout")
	}
	rep := a.lastReport()
	steps := stepsOf(rep)
	if !rep.HadSession || rep.Provider != "adobe" || !steps["session.delete"] || !steps["app.erase"] {
		t.Errorf("report %+v", rep)
	}
	if ok, ran := steps["provider.end_session"]; !ran || ok != providerOK {
		t.Errorf("provider.end_session ok=%v ran=%v, want ok=%v; report %+v", ok, ran, providerOK, rep.Steps)
	}
	return rep
}

// TestAdobePassV1 runs the device session's logout through the
// middleware against Adobe's production host: golden DCR and logout
// requests, and the 401 retry.
func TestAdobePassV1(t *testing.T) {
	cases := []struct {
		name      string
		refuse    map[string]bool
		refuseAll bool
		calls     int
		landing   string
	}{
		{name: "204", calls: 1, landing: "/"},
		{name: "401 then a new token", refuse: map[string]bool{"tok-1": true}, calls: 2, landing: "/"},
		{name: "401 twice", refuseAll: true, calls: 2, landing: "/?logout_notice=provider-unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &adobeFake{t: t, refuse: tc.refuse, refuseAll: tc.refuseAll}
			n := newInternet()
			n.handle("api.auth.adobe.com", f)
			dcr := &providers.AdobeDCR{ClientID: adobeClient, ClientSecret: adobeSecret, HTTPClient: n.client()}
			a := newApp(t, n, nil, providers.AdobePass(providers.AdobePassLogout{Tokens: dcr, V1: true}))
			f.event = a.event
			a.deviceLogin()

			resp, body := a.logout("")
			if got := a.follow(resp, body); got != a.URL+tc.landing {
				t.Errorf("landed on %s, want %s", got, tc.landing)
			}
			checkLocalLogout(t, a, tc.refuseAll == false)
			// The local deletion came first.
			if ev := a.events(); len(ev) != 1+tc.calls || ev[0] != "app.erase" {
				t.Errorf("events %q, want app.erase then the Adobe calls", ev)
			}

			dcrs := f.requests("dcr")
			if len(dcrs) != tc.calls {
				t.Fatalf("%d token requests, want %d", len(dcrs), tc.calls)
			}
			for _, d := range dcrs {
				if d.Method != http.MethodPost || d.URL != "https://api.auth.adobe.com/o/client/token" ||
					d.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Errorf("token request %s %s %q", d.Method, d.URL, d.Header.Get("Content-Type"))
				}
				checkValues(t, "token body", d.Form, map[string]string{
					"client_id": adobeClient, "client_secret": adobeSecret, "grant_type": "client_credentials"})
			}
			calls := f.requests("v1")
			if len(calls) != tc.calls {
				t.Fatalf("%d logout calls, want %d", len(calls), tc.calls)
			}
			// The same encoding as on v2 and DCR calls: standard Base64.
			info := base64.StdEncoding.EncodeToString([]byte(adobeInfo))
			for i, c := range calls {
				want := "https://api.auth.adobe.com/api/v1/logout?deviceId=" + adobeDevice + "&requestor=" + adobeRequestor
				if c.Method != http.MethodDelete || c.URL != want {
					t.Errorf("logout call %s %s, want DELETE %s", c.Method, c.URL, want)
				}
				if got := c.Header.Get("Authorization"); got != fmt.Sprintf("Bearer tok-%d", i+1) {
					t.Errorf("call %d Authorization %q", i, got)
				}
				if got := c.Header.Get("X-Device-Info"); got != info {
					t.Errorf("X-Device-Info %q, want %q", got, info)
				}
				if got := c.Header.Get("X-Forwarded-For"); got != "" {
					t.Errorf("v1 call has X-Forwarded-For %q", got)
				}
			}
		})
	}
}

// TestAdobePassFailures: whatever happens at Adobe, the local session is
// gone, the failure is reported, and the user lands with a notice, in
// bounded time.
func TestAdobePassFailures(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	cases := []struct {
		name          string
		handler       http.HandlerFunc // nil: connection refused
		logoutTimeout time.Duration
		capTimeout    time.Duration
		v1            bool
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, 0, 0, false},
		{"503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, 0, 0, false},
		{"400", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) }, 0, 0, false},
		{"v2 200 that is not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, 0, 0, false},
		{"no answer within LogoutTimeout", hang, 300 * time.Millisecond, 0, false},
		{"no answer within the strategy's own cap", hang, time.Minute, 300 * time.Millisecond, false},
		{"connection refused", nil, 0, 0, false},
		{"v1 500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, 0, 0, true},
		{"v1 200 instead of 204", func(w http.ResponseWriter, r *http.Request) {}, 0, 0, true},
		{"v1 no answer within LogoutTimeout", hang, 300 * time.Millisecond, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var base string
			if tc.handler != nil {
				srv := httptest.NewServer(tc.handler)
				t.Cleanup(srv.Close)
				base = srv.URL
			} else {
				srv := httptest.NewServer(http.NotFoundHandler())
				base = srv.URL
				srv.Close()
			}
			strategy := providers.AdobePassLogout{BaseURL: base, Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "static"}),
				Timeout: tc.capTimeout, V1: tc.v1}
			a := newApp(t, newInternet(), func(c *middleware.Config) { c.LogoutTimeout = tc.logoutTimeout }, providers.AdobePass(strategy))
			a.deviceLogin()

			start := time.Now()
			resp, body := a.logout("")
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("logout took %v", took)
			}
			if got := a.follow(resp, body); got != a.URL+"/?logout_notice=provider-unreachable" {
				t.Errorf("landed on %s", got)
			}
			checkLocalLogout(t, a, false)
		})
	}
}

// TestAdobePassV2 runs the REST API v2 logout: golden request, and each
// answer's outcome for the browser.
func TestAdobePassV2(t *testing.T) {
	answer := func(action, typ, u string) string {
		urlField := ""
		if u != "" {
			urlField = fmt.Sprintf(`,"url":%q`, u)
		}
		return fmt.Sprintf(`{"logouts":{"Cablevision":{"actionName":%q,"actionType":%q,"mvpd":"Cablevision"%s}}}`, action, typ, urlField)
	}
	cases := []struct {
		name    string
		answer  func(landing string) string
		mvpd    bool
		landing string
	}{
		{"interactive", func(l string) string {
			return answer("logout", "interactive", "https://sp.auth.adobe.com/adobe-services/logout?noflash=true&mso_id=Cablevision&requestor_id=REF30&redirect_url="+url.QueryEscape(l))
		}, true, "/"},
		{"interactive, relative URL", func(l string) string {
			return answer("logout", "interactive", "/adobe-services/logout?noflash=true&mso_id=Cablevision&requestor_id=REF30&redirect_url="+url.QueryEscape(l))
		}, true, "/"},
		{"complete", func(string) string { return answer("complete", "none", "") }, false, "/"},
		{"invalid", func(string) string { return answer("invalid", "none", "") }, false, "/"},
		{"partner logout", func(string) string { return answer("partner_logout", "partner_interactive", "") }, false, "/?logout_notice=partner-logout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &adobeFake{t: t}
			n := newInternet()
			n.handle("api.auth.adobe.com", f)
			n.handle("sp.auth.adobe.com", f)
			dcr := &providers.AdobeDCR{ClientID: adobeClient, ClientSecret: adobeSecret, HTTPClient: n.client()}
			// REST API v2 is the default.
			a := newApp(t, n, nil, providers.AdobePass(providers.AdobePassLogout{Tokens: dcr}))
			landing := a.URL + "/auth/logged-out"
			f.v2Answer = tc.answer(landing)
			a.deviceLogin()

			resp, body := a.logout("")
			if tc.mvpd {
				target := a.expectRedirect(resp, body)
				if !strings.HasPrefix(target, "https://sp.auth.adobe.com/adobe-services/logout?") {
					t.Errorf("browser sent to %s, want the MVPD logout", target)
				}
			}
			if got := a.follow(resp, body); got != a.URL+tc.landing {
				t.Errorf("landed on %s, want %s", got, tc.landing)
			}
			checkLocalLogout(t, a, true)
			if n := len(f.requests("mvpd")); n != map[bool]int{true: 1}[tc.mvpd] {
				t.Errorf("%d MVPD logout visits", n)
			}

			c := f.requests("v2")
			if len(c) != 1 {
				t.Fatalf("%d v2 calls", len(c))
			}
			want := "https://api.auth.adobe.com/api/v2/REF30/logout/Cablevision?redirectUrl=" + url.QueryEscape(landing)
			if c[0].Method != http.MethodGet || c[0].URL != want {
				t.Errorf("v2 call %s %s\nwant GET %s", c[0].Method, c[0].URL, want)
			}
			for h, v := range map[string]string{
				"Authorization":        "Bearer tok-1",
				"AP-Device-Identifier": "fingerprint " + base64.StdEncoding.EncodeToString([]byte(adobeDevice)),
				"X-Device-Info":        base64.StdEncoding.EncodeToString([]byte(adobeInfo)),
				"X-Forwarded-For":      adobeDeviceIP,
				"Accept":               "application/json",
			} {
				if got := c[0].Header.Get(h); got != v {
					t.Errorf("%s: %q, want %q", h, got, v)
				}
			}
		})
	}
}

// TestAdobePassLogoutStrategy covers what needs no middleware: hosts,
// missing device data, and the SP host of relative URLs.
func TestAdobePassLogoutStrategy(t *testing.T) {
	device := &session.Device{ID: adobeDevice, Info: adobeInfo, Requestor: adobeRequestor, MVPD: adobeMVPD}
	static := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})
	t.Run("staging", func(t *testing.T) {
		f := &adobeFake{t: t, v2Answer: `{"logouts":{"Cablevision":{"actionName":"logout","actionType":"interactive","url":"/adobe-services/logout?x=1"}}}`}
		n := newInternet()
		n.handle("api.auth-staging.adobe.com", f)
		for _, v2 := range []bool{false, true} {
			l := providers.AdobePassLogout{BaseURL: providers.AdobeStaging, Tokens: static, V1: !v2}
			act, err := l.EndSession(context.Background(), &providers.LogoutRequest{Device: device, HTTPClient: n.client(), ReturnURL: "https://app/auth/logged-out"})
			if err != nil {
				t.Fatal(err)
			}
			if v2 && act.URL != "https://sp.auth-staging.adobe.com/adobe-services/logout?x=1" {
				t.Errorf("MVPD logout at %s", act.URL)
			}
			if len(act.Calls) != 1 || !strings.Contains(act.Calls[0], " https://api.auth-staging.adobe.com/api/v") {
				t.Errorf("calls %q", act.Calls)
			}
		}
		if got := len(f.requests("v1")) + len(f.requests("v2")); got != 2 {
			t.Errorf("%d calls at the staging host", got)
		}
	})
	for _, tc := range []struct {
		name string
		l    providers.AdobePassLogout
		dev  *session.Device
	}{
		{"no device", providers.AdobePassLogout{Tokens: static}, nil},
		{"no device information", providers.AdobePassLogout{Tokens: static}, &session.Device{ID: adobeDevice}},
		{"no token source", providers.AdobePassLogout{}, device},
		{"v2 without MVPD", providers.AdobePassLogout{Tokens: static}, &session.Device{ID: adobeDevice, Info: adobeInfo, Requestor: adobeRequestor}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newInternet()
			_, err := tc.l.EndSession(context.Background(), &providers.LogoutRequest{Device: tc.dev, HTTPClient: n.client()})
			if err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestAdobeDCR(t *testing.T) {
	f := &adobeFake{t: t}
	n := newInternet()
	n.handle("api.auth.adobe.com", f)
	dcr := &providers.AdobeDCR{ClientID: adobeClient, ClientSecret: adobeSecret, DeviceInfo: `{"model":"server","osName":"Linux"}`, HTTPClient: n.client()}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if tok, err := dcr.Token(); err != nil || tok.AccessToken != "tok-1" {
				t.Errorf("Token() = %v, %v", tok, err)
			}
		})
	}
	wg.Wait()
	reqs := f.requests("dcr")
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	if got, want := reqs[0].Header.Get("X-Device-Info"), base64.StdEncoding.EncodeToString([]byte(`{"model":"server","osName":"Linux"}`)); got != want {
		t.Errorf("X-Device-Info %q, want %q", got, want)
	}

	// Invalidating an older token keeps the current one; invalidating
	// the current one gets a new token.
	dcr.Invalidate(&oauth2.Token{AccessToken: "tok-0"})
	if tok, _ := dcr.Token(); tok.AccessToken != "tok-1" {
		t.Errorf("after invalidating another token: %s", tok.AccessToken)
	}
	dcr.Invalidate(&oauth2.Token{AccessToken: "tok-1"})
	if tok, _ := dcr.Token(); tok.AccessToken != "tok-2" {
		t.Errorf("after invalidating the token: %s", tok.AccessToken)
	}

	bad := &providers.AdobeDCR{ClientID: adobeClient, ClientSecret: "wrong", HTTPClient: n.client()}
	if _, err := bad.Token(); err == nil || !strings.Contains(err.Error(), "400 invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
}

// TestAdobePassForwardedFor: X-Forwarded-For carries the device
// information's connectionIp only when it is an IP address; anything else
// (no address, a name, a header injection) sends none.
func TestAdobePassForwardedFor(t *testing.T) {
	static := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})
	for info, want := range map[string]string{
		`{"model":"Roku","connectionIp":"2001:db8::7"}`:  "2001:db8::7",
		`{"model":"Roku","connectionIp":"198.51.100.4"}`: "198.51.100.4",
		`{"model":"Roku"}`: "",
		`{"model":"Roku","connectionIp":"tv.example.com"}`:            "",
		`{"model":"Roku","connectionIp":"198.51.100.4\r\nX-Evil: 1"}`: "",
		`not json`: "",
	} {
		f := &adobeFake{t: t, v2Answer: `{"logouts":{"Cablevision":{"actionName":"complete","actionType":"none"}}}`}
		n := newInternet()
		n.handle("api.auth.adobe.com", f)
		dev := &session.Device{ID: adobeDevice, Info: info, Requestor: adobeRequestor, MVPD: adobeMVPD}
		if _, err := (providers.AdobePassLogout{Tokens: static}).EndSession(context.Background(),
			&providers.LogoutRequest{Device: dev, HTTPClient: n.client(), ReturnURL: "https://app/auth/logged-out"}); err != nil {
			t.Fatalf("%s: %v", info, err)
		}
		c := f.requests("v2")
		if len(c) != 1 {
			t.Fatalf("%s: %d v2 calls", info, len(c))
		}
		if got := c[0].Header.Get("X-Forwarded-For"); got != want || len(c[0].Header.Values("X-Evil")) != 0 {
			t.Errorf("%s: X-Forwarded-For %q, want %q", info, got, want)
		}
	}
}
