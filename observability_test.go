package endsession_test

// Logs, audit, error pages and headers: what the middleware tells the
// operator and the browser, and what it never tells them.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// logRecords returns the middleware's log records.
func (s *stack) logRecords(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %q", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

// TestLogsOfAFullRunHoldNoSecrets runs a login, a refresh, a logout
// through the provider and hostile requests, then searches the logs for every token,
// code, cookie value, sid, nonce and personal claim that crossed the wire.
func TestLogsOfAFullRunHoldNoSecrets(t *testing.T) {
	s := newStack(t)
	s.login()
	s.advance(6 * time.Minute) // the access token expired: refreshed
	s.login()
	end := s.logoutRedirect()
	s.follow(s.get(end.String()))
	s.login()
	s.rawGet(t, "/profile", "endsession=garbage")
	cb := s.callbackURL()
	s.get(withQuery(cb, func(q url.Values) { q.Set("iss", "https://evil.example") }))
	s.setTokenHook(func(body, claims map[string]any) {
		claims["nonce"] = "wrong"
		body["id_token"] = s.op.SignIDToken(claims)
	})
	s.loginUntilFailure()
	s.setTokenHook(nil)
	s.postLogout(s.appURL)

	s.mu.Lock()
	n := len(s.secrets)
	s.mu.Unlock()
	if n < 10 {
		t.Fatalf("only %d secrets were seen; the run did not run", n)
	}
	s.assertNoLeak(t)
	events := map[string]bool{}
	refreshed := false
	for _, rec := range s.logRecords(t) {
		events[fmt.Sprint(rec["event"])] = true
		refreshed = refreshed || rec["msg"] == "tokens refreshed"
		if rec["msg"] == "URLs to register at the provider" {
			continue // logged by New, outside any request
		}
		if rec["correlation_id"] == nil || rec["correlation_id"] == "" {
			t.Errorf("a log record has no correlation id: %v", rec)
		}
	}
	if !refreshed {
		t.Error("the run did not refresh the tokens")
	}
	for _, e := range []string{"login", "callback", "logout", "session", "refresh"} {
		if !events[e] {
			t.Errorf("no %q event in the logs", e)
		}
	}
}

// TestOneCorrelationIDPerRequest checks that the records of one request
// share its correlation id, and that a client's X-Request-Id is used.
func TestOneCorrelationIDPerRequest(t *testing.T) {
	cases := []struct {
		name, requestID string
		event, path     string
	}{
		{"login, random id", "", "login", "/auth/login?return_to=//evil.example"},
		{"login, client's X-Request-Id", "req-123", "login", "/auth/login?return_to=//evil.example"},
		{"invalid cookie, random id", "", "session", "/profile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			req, _ := http.NewRequest(http.MethodGet, s.appURL+tc.path, nil)
			if tc.requestID != "" {
				req.Header.Set("X-Request-Id", tc.requestID)
			}
			req.Header.Set("Cookie", "endsession=garbage")
			s.do(req)
			ids := map[string]int{}
			for _, rec := range s.logRecords(t) {
				if rec["event"] == tc.event {
					ids[fmt.Sprint(rec["correlation_id"])]++
				}
			}
			if len(ids) != 1 {
				t.Fatalf("the request's %s records carry correlation ids %v, want one", tc.event, ids)
			}
			if tc.requestID != "" && ids[tc.requestID] == 0 {
				t.Fatalf("correlation ids %v, want the client's %s", ids, tc.requestID)
			}
			for _, n := range ids {
				if tc.event == "login" && n < 2 {
					t.Fatalf("want the rejected target and the start logged, got %d record(s)", n)
				}
			}
		})
	}
}

func TestLogoutReportListsEveryStep(t *testing.T) {
	s := newStack(t)
	s.op.SetUserClaims("alice", map[string]any{"blob": strings.Repeat("x", 5<<10)})
	s.login()
	names := []string{}
	for _, c := range s.sessionCookies() {
		names = append(names, c.Name)
	}
	if len(names) < 2 {
		t.Fatalf("want a chunked session, got %v", names)
	}
	end := s.logoutRedirect()
	s.follow(s.get(end.String()))
	s.mu.Lock()
	rep := s.reports[len(s.reports)-1]
	s.mu.Unlock()
	steps := map[string]middleware.LogoutStep{}
	for _, st := range rep.Steps {
		steps[st.Name] = st
	}
	del := steps["session.delete"]
	for _, name := range names {
		if !strings.Contains(del.Detail, name) {
			t.Errorf("session.delete does not list cookie %s: %q", name, del.Detail)
		}
	}
	if !strings.Contains(del.Detail, "store") {
		t.Errorf("session.delete does not say what the store did: %q", del.Detail)
	}
	if st, ok := steps["app.erase"]; !ok || !st.OK || st.Detail == "" {
		t.Errorf("app.erase = %+v", st)
	}
	ask := steps["provider.end_session"]
	for _, p := range []string{"GET", s.op.Issuer() + "/end_session", "id_token_hint", "post_logout_redirect_uri", "state"} {
		if !strings.Contains(ask.Detail, p) {
			t.Errorf("provider.end_session does not say %q: %q", p, ask.Detail)
		}
	}
	if rep.CorrelationID == "" || rep.Provider != "dev" || !rep.HadSession {
		t.Errorf("report = %+v", rep)
	}
	// The provider's answer comes at the landing: it is logged too.
	landed := false
	for _, rec := range s.logRecords(t) {
		landed = landed || (rec["event"] == "logout" && strings.Contains(fmt.Sprint(rec["msg"]), "landed") &&
			rec["logout_correlation_id"] == rep.CorrelationID && rec["provider_state_checked"] == true)
	}
	if !landed {
		t.Error("the landing after the provider's logout was not logged under the logout's correlation id")
	}
	s.assertNoLeak(t, fmt.Sprintf("%+v", rep))
}

func TestCustomErrorHandler(t *testing.T) {
	var got []*middleware.Error
	s := newStack(t, func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			mw.ErrorHandler = func(w http.ResponseWriter, r *http.Request, e *middleware.Error) {
				got = append(got, e)
				w.WriteHeader(e.Status)
				fmt.Fprintf(w, "custom %s %s", e.Code, e.CorrelationID)
			}
		}
	})
	cb := s.callbackURL()
	resp := s.get(withQuery(cb, func(q url.Values) { q.Set("state", "x") }))
	if resp.StatusCode != http.StatusBadRequest || len(got) != 1 {
		t.Fatalf("status %d, handler called %d time(s)", resp.StatusCode, len(got))
	}
	e := got[0]
	if e.Code != "invalid_state" || e.Status != 400 || e.Message == "" || e.Err == nil || e.CorrelationID == "" {
		t.Fatalf("the handler got %+v", e)
	}
	if body(resp) != "custom invalid_state "+e.CorrelationID {
		t.Fatalf("the custom page was not served: %q", body(resp))
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("a custom error page lost the auth headers")
	}
	if !strings.Contains(s.logs.String(), `"correlation_id":"`+e.CorrelationID+`"`) {
		t.Error("the error given to the handler was not logged under its correlation id")
	}
}

func TestDefaultErrorPageShowsNoInternalError(t *testing.T) {
	s := newStack(t)
	s.setTokenHook(func(body, claims map[string]any) {
		claims["aud"] = "other"
		body["id_token"] = s.op.SignIDToken(claims)
	})
	resp := s.loginUntilFailure()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if strings.Contains(body(resp), "audience") || !strings.Contains(body(resp), "could not be verified") {
		t.Fatalf("page = %q", body(resp))
	}
	if !strings.Contains(s.logs.String(), "audience") {
		t.Fatal("the internal reason is not in the logs")
	}
	s.assertErrorPage(t, resp)
	req, _ := http.NewRequest(http.MethodGet, s.appURL+"/auth/callback?state=x", nil)
	req.Header.Set("Accept", "application/json")
	js := s.do(req)
	var e map[string]string
	if err := json.Unmarshal([]byte(body(js)), &e); err != nil || e["error"] != "invalid_state" || e["correlation_id"] == "" || len(e) != 3 {
		t.Fatalf("JSON error = %q", body(js))
	}
}

// TestSecurityHeadersOnEveryRoute checks every kind of answer of the
// middleware's routes: never cached, never sniffed, no referrer, and the
// pages it renders cannot be framed.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	formPost := func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			mw.Providers[0].Logout = providers.RPInitiated{Method: http.MethodPost}
		}
	}
	twoProviders := func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			second := mw.Providers[0]
			second.Name = "other"
			mw.Providers = append(mw.Providers, second)
		}
	}
	cases := []struct {
		name   string
		opts   []stackOption
		page   bool
		status int
		run    func(s *stack) *http.Response
	}{
		{"login redirect", nil, false, 302, func(s *stack) *http.Response { return s.get("/auth/login") }},
		{"login chooser page", []stackOption{twoProviders}, true, 200, func(s *stack) *http.Response { return s.get("/auth/login") }},
		{"login error page", nil, true, 400, func(s *stack) *http.Response { return s.get("/auth/login?provider=nope") }},
		{"login by POST", nil, true, 405, func(s *stack) *http.Response {
			req, _ := http.NewRequest(http.MethodPost, s.appURL+"/auth/login", nil)
			return s.do(req)
		}},
		{"callback redirect", nil, false, 303, func(s *stack) *http.Response { return s.get(s.callbackURL().String()) }},
		{"callback error page", nil, true, 400, func(s *stack) *http.Response { return s.get("/auth/callback?state=x") }},
		{"logout redirect", nil, false, 303, func(s *stack) *http.Response { s.login(); return s.postLogout(s.appURL) }},
		{"logout form post page", []stackOption{formPost}, true, 200, func(s *stack) *http.Response { s.login(); return s.postLogout(s.appURL) }},
		{"logout confirmation page", nil, true, 200, func(s *stack) *http.Response { return s.get("/auth/logout", "Sec-Fetch-Site", "cross-site") }},
		{"logout refused page", nil, true, 403, func(s *stack) *http.Response { return s.postLogout("https://evil.example") }},
		{"logged-out redirect", nil, false, 303, func(s *stack) *http.Response { return s.get("/auth/logged-out") }},
		{"logged-out error page", nil, true, 400, func(s *stack) *http.Response { return s.get("/auth/logged-out?state=x") }},
		{"protected route 401", nil, false, 401, func(s *stack) *http.Response { return s.get("/profile", "Accept", "application/json") }},
		{"protected route redirect", nil, false, 303, func(s *stack) *http.Response { return s.get("/profile") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.opts...)
			resp := tc.run(s)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			want := map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
			if !strings.HasPrefix(tc.name, "protected") {
				want["Referrer-Policy"] = "no-referrer"
			}
			if tc.page {
				want["X-Frame-Options"] = "DENY"
			}
			for h, v := range want {
				if got := resp.Header.Get(h); got != v {
					t.Errorf("%s = %q, want %q", h, got, v)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); tc.page && !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q, want frame-ancestors 'none'", csp)
			}
		})
	}
}

func TestClearSiteDataOnTheLanding(t *testing.T) {
	s := newStack(t, func(_ *devprovider.Config, mw *middleware.Config) {
		if mw != nil {
			mw.ClearSiteData = []string{"cache", `"cookies"`, "storage"}
		}
	})
	s.login()
	out := s.postLogout(s.appURL)
	if h := out.Header.Get("Clear-Site-Data"); h != "" {
		t.Errorf("the logout response itself clears site data (%q): it would also clear the logout state", h)
	}
	back := s.get(out.Header.Get("Location"))
	land := s.get(back.Header.Get("Location"))
	if got := land.Header.Get("Clear-Site-Data"); got != `"cache", "cookies", "storage"` {
		t.Fatalf("Clear-Site-Data = %q", got)
	}
	plain := newStack(t)
	if got := plain.get("/auth/logged-out").Header.Get("Clear-Site-Data"); got != "" {
		t.Fatalf("Clear-Site-Data without the option = %q", got)
	}
}

// TestKeyRotation rotates the keys that protect sessions and login flows
// through middleware.New, as an operator does: a new pair first keeps
// old sessions and logins in flight; removing the old pair ends them.
func TestKeyRotation(t *testing.T) {
	s := newStack(t)
	s.login()
	oldSession := cookieHeader(s.sessionCookies()...)
	inFlight := s.callbackURL()
	newKey := session.KeyPair{HashKey: []byte(strings.Repeat("n", 32)), BlockKey: []byte(strings.Repeat("N", 32))}

	s.restart(func(c *middleware.Config) { c.Keys = []session.KeyPair{newKey, testKeys[0]} })
	if r := s.rawGet(t, "/profile", oldSession); r.StatusCode != http.StatusOK {
		t.Fatalf("after adding a key pair, an old session: %d", r.StatusCode)
	}
	if r := s.get(inFlight.String()); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after adding a key pair, a login in flight: %d %s", r.StatusCode, body(r))
	}
	newSession := cookieHeader(s.sessionCookies()...)

	s.restart(func(c *middleware.Config) { c.Keys = []session.KeyPair{newKey} })
	if r := s.rawGet(t, "/profile", oldSession); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after removing its key pair, an old session: %d", r.StatusCode)
	}
	if r := s.rawGet(t, "/profile", newSession); r.StatusCode != http.StatusOK {
		t.Fatalf("a session written under the new key: %d", r.StatusCode)
	}
	s.client = newBrowser(t)
	s.login()
}
