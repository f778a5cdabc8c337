package endsession_test

// Tests of what Require answers a request without a session: a redirect
// to the login page for a browser's navigation, 401 for an API call, and a
// clear error when the middleware is not mounted around it.

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

func TestRequireAnswersAPICallsWith401(t *testing.T) {
	s := newStack(t)
	api := map[string][]string{
		"Accept JSON":            {"Accept", "application/json"},
		"fetch() in cors mode":   {"Accept", "*/*", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin"},
		"fetch() same-origin":    {"Accept", "*/*", "Sec-Fetch-Mode", "same-origin", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin"},
		"XMLHttpRequest":         {"Accept", "*/*", "X-Requested-With", "XMLHttpRequest"},
		"an image":               {"Accept", "image/avif,image/webp,*/*", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"},
		"a script":               {"Accept", "*/*", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "script"},
		"curl":                   {"Accept", "*/*"},
		"JSON with a text/plain": {"Accept", "application/json, text/plain, */*"},
	}
	for name, header := range api {
		resp := s.get("/profile", header...)
		b := body(resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401 (Location %q)", name, resp.StatusCode, resp.Header.Get("Location"))
			continue
		}
		if resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(b, `"unauthenticated"`) {
			t.Errorf("%s: 401 without WWW-Authenticate or error code: %q", name, b)
		}
	}
	browser := map[string][]string{
		"Chromium navigation": {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Sec-Fetch-Site", "none"},
		"an old browser":   {"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"},
		"an iframe":        {"Accept", "text/html", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"},
		"no Accept at all": {},
	}
	for name, header := range browser {
		resp := s.get("/profile", header...)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/auth/login?return_to=%2Fprofile" {
			t.Errorf("%s: %d %q, want 303 to the login page", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestRequireAPIRuleIsConfigurable(t *testing.T) {
	s := newStack(t, withMW(func(c *middleware.Config) {
		c.IsAPIRequest = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/profile" }
	}))
	resp := s.get("/profile", "Accept", "text/html", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a route the rule calls an API: %d, want 401", resp.StatusCode)
	}
	resp = s.get("/sid", "X-Requested-With", "XMLHttpRequest")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the configured rule replaces the default one: %d, want 303", resp.StatusCode)
	}
}

func TestRequireWithoutHandlerFailsClearly(t *testing.T) {
	logs := new(strings.Builder)
	mw, err := middleware.New(middleware.Config{
		AppURL: "http://127.0.0.1:1", Keys: testKeys, Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil)),
		Providers: []providers.Provider{{Name: "p", Issuer: "https://op.example", ClientID: "c", ClientSecret: "s"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := mw.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	for range 3 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/account", nil)
		req.Header.Set("Accept", "text/html")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusInternalServerError || called {
			t.Fatalf("Require without Handler: %d (handler called: %v), want 500 and no call", rec.Code, called)
		}
		if !strings.Contains(rec.Body.String(), "not mounted") {
			t.Fatalf("the page does not say what is wrong: %q", rec.Body.String())
		}
		if loc := rec.Header().Get("Location"); loc != "" {
			t.Fatalf("Require without Handler redirects to %q: a loop", loc)
		}
	}
	var errorRecords int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "ERROR" && strings.Contains(rec["msg"].(string), "Handler") {
			errorRecords++
		}
	}
	if errorRecords != 1 {
		t.Fatalf("want one ERROR record naming Handler, got %d in %s", errorRecords, logs)
	}
}

func TestNewRefusesMisleadingConfig(t *testing.T) {
	good := middleware.Config{
		AppURL: "https://app.example", Keys: testKeys,
		Providers: []providers.Provider{{Name: "p", Issuer: "https://op.example", ClientID: "c", ClientSecret: "s"}},
	}
	for name, mutate := range map[string]func(*middleware.Config){
		"PathPrefix /":         func(c *middleware.Config) { c.PathPrefix = "/" },
		"PathPrefix //":        func(c *middleware.Config) { c.PathPrefix = "//" },
		"PathPrefix with ?":    func(c *middleware.Config) { c.PathPrefix = "/auth?x" },
		"PathPrefix with a ..": func(c *middleware.Config) { c.PathPrefix = "/a/../auth" },
	} {
		cfg := good
		cfg.Providers = append([]providers.Provider(nil), good.Providers...)
		mutate(&cfg)
		if _, err := middleware.New(cfg); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestLoginWarnsOnlyOfAnInvalidReturnTarget(t *testing.T) {
	s := newStack(t)
	s.get("/auth/login")
	s.get("/auth/login?return_to=%2Fprofile")
	if strings.Contains(s.logs.String(), "return target rejected") {
		t.Fatalf("a login without return_to, or with a good one, was warned of:\n%s", s.logs)
	}
	s.get("/auth/login?return_to=https%3A%2F%2Fevil.example%2F")
	if !strings.Contains(s.logs.String(), "return target rejected") {
		t.Fatalf("a hostile return_to was not logged:\n%s", s.logs)
	}
}

func TestNewRefusesAnInsecureStoreOnHTTPS(t *testing.T) {
	provider := []providers.Provider{{Name: "p", Issuer: "https://op.example", ClientID: "c", ClientSecret: "s"}}
	cookies, err := session.NewCookieStore(session.CookieOptions{Keys: testKeys, Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	server, err := session.NewServerStore(session.ServerOptions{Backend: session.NewMemoryBackend(session.MemoryOptions{}), Keys: testKeys, Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]session.Store{"cookie store": cookies, "server store": server} {
		_, err := middleware.New(middleware.Config{AppURL: "https://app.example", Keys: testKeys, Providers: provider, Store: store})
		if err == nil || !strings.Contains(err.Error(), "Secure") {
			t.Errorf("%s without Secure on an https AppURL: %v", name, err)
		}
		if _, err := middleware.New(middleware.Config{AppURL: "http://127.0.0.1:8080", Keys: testKeys, Providers: provider, Store: store}); err != nil {
			t.Errorf("%s without Secure on a loopback http AppURL: %v", name, err)
		}
	}
}

func TestNewWarnsOfPlainHTTPBeyondLoopback(t *testing.T) {
	provider := []providers.Provider{{Name: "p", Issuer: "https://op.example", ClientID: "c", ClientSecret: "s"}}
	for appURL, warned := range map[string]bool{
		"http://app.example.com":  true,
		"http://10.0.0.7:8080":    true,
		"http://127.0.0.1:8080":   false,
		"http://localhost:8080":   false,
		"http://[::1]:8080":       false,
		"https://app.example.com": false,
	} {
		logs := new(strings.Builder)
		_, err := middleware.New(middleware.Config{AppURL: appURL, Keys: testKeys, Providers: provider,
			Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))})
		if err != nil {
			t.Fatalf("%s: %v", appURL, err)
		}
		if got := strings.Contains(logs.String(), `"level":"WARN"`) && strings.Contains(logs.String(), "Secure"); got != warned {
			t.Errorf("%s: warned %v, want %v; log: %s", appURL, got, warned, logs)
		}
	}
}
