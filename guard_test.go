package endsession_test

// Tests of the claim guards: a route that requires something of the
// signed-in user answers 403 to the others, with a page for a browser and
// JSON for an API call.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// guardedStack signs in a user with claims, on an application whose
// routes each require one rule.
func guardedStack(t *testing.T, claims map[string]any) *stack {
	t.Helper()
	s := newStack(t, withOP(func(c *devprovider.Config) {
		c.Users = []devprovider.User{{Username: "alice", Claims: claims}}
	}))
	rules := map[string]middleware.Rule{
		"/admin":     middleware.ClaimContains("groups", "admin"),
		"/editor":    middleware.ClaimContains("roles", "editor"),
		"/staff":     middleware.EmailDomain("example.com", "example.org"),
		"/tenant":    middleware.ClaimContains("tenant", "acme"),
		"/custom":    func(u session.Data) bool { return strings.HasPrefix(u.Subject, "ali") },
		"/nobody":    func(session.Data) bool { return false },
		"/two-rules": middleware.AllOf(middleware.ClaimContains("groups", "admin"), middleware.EmailDomain("example.net")),
		"/any-rule":  middleware.AnyOf(middleware.ClaimContains("groups", "admin"), middleware.EmailDomain("example.net")),
	}
	mux := http.NewServeMux()
	for path, rule := range rules {
		mux.Handle(path, s.mw.Allow(rule)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "allowed "+path)
		})))
	}
	mux.Handle("/", appRoutes(s.mw))
	h := s.mw.Handler(mux)
	s.handler.Store(&h)
	return s
}

func TestClaimGuards(t *testing.T) {
	cases := []struct {
		name    string
		claims  map[string]any
		allowed []string
	}{
		{"groups as an array", map[string]any{"groups": []string{"staff", "admin"}, "email": "a@example.net", "email_verified": true},
			[]string{"/admin", "/custom", "/two-rules", "/any-rule"}},
		{"roles as a space-separated string", map[string]any{"roles": "viewer editor", "email": "alice@EXAMPLE.org", "email_verified": true},
			[]string{"/editor", "/staff", "/custom"}},
		{"a single string value", map[string]any{"tenant": "acme", "groups": "admins", "email": "alice@sub.example.com", "email_verified": true},
			[]string{"/tenant", "/custom"}},
		{"an unverified email", map[string]any{"email": "alice@example.com", "email_verified": false},
			[]string{"/custom"}},
		{"an email domain as a suffix", map[string]any{"email": "alice@evilexample.com", "email_verified": true},
			[]string{"/custom"}},
		{"an email the provider does not say is verified", map[string]any{"email": "alice@example.com"},
			[]string{"/custom"}},
		{"email_verified as a string", map[string]any{"email": "alice@example.com", "email_verified": "false"},
			[]string{"/custom"}},
		{"email_verified true as a string", map[string]any{"email": "alice@example.com", "email_verified": "true"},
			[]string{"/staff", "/custom"}},
	}
	all := []string{"/admin", "/editor", "/staff", "/tenant", "/custom", "/nobody", "/two-rules", "/any-rule"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := guardedStack(t, c.claims)
			s.signIn()
			for _, path := range all {
				want := http.StatusForbidden
				for _, a := range c.allowed {
					if a == path {
						want = http.StatusOK
					}
				}
				resp := s.get(path, "Accept", "text/html")
				b := body(resp)
				if resp.StatusCode != want {
					t.Errorf("%s: %d, want %d (%s)", path, resp.StatusCode, want, b)
					continue
				}
				if want == http.StatusForbidden && (!strings.Contains(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(b, "allowed")) {
					t.Errorf("%s: a browser's 403 is not a page: %s %q", path, resp.Header.Get("Content-Type"), b)
				}
			}
		})
	}
}

func TestClaimGuardAnswersAPICallsWithJSON(t *testing.T) {
	s := guardedStack(t, map[string]any{"groups": []string{"staff"}})
	resp := s.get("/admin", "Accept", "*/*", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an API call without a session: %d, want 401", resp.StatusCode)
	}
	s.signIn()
	resp = s.get("/admin", "Accept", "*/*", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty")
	var got map[string]string
	if err := json.Unmarshal([]byte(body(resp)), &got); err != nil || resp.StatusCode != http.StatusForbidden || got["error"] != "forbidden" {
		t.Fatalf("an API call of a user the rule refuses: %d %v %v", resp.StatusCode, got, err)
	}
	// A browser without a session is sent to sign in first.
	s2 := guardedStack(t, nil)
	resp = s2.get("/admin", "Accept", "text/html")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login?return_to=%2Fadmin") {
		t.Fatalf("a browser without a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(s.logs.String(), `"code":"forbidden"`) {
		t.Fatalf("the refusal is not in the log:\n%s", s.logs)
	}
}

// signIn signs the stack's user in, whatever its claims.
func (s *stack) signIn() {
	s.t.Helper()
	resp, _ := s.follow(s.get("/profile"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "provider=dev") {
		s.t.Fatalf("login: %d %q", resp.StatusCode, body(resp))
	}
}
