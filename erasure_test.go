package endsession_test

// Every logout, whoever starts it, runs the application's erasure hook
// (Config.OnLogout) once and emits one audit record.

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

func (s *stack) erasedCount() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.erased), len(s.reports)
}

// serverStore keeps the stack's sessions in a ServerStore in memory.
func serverStore(t *testing.T) stackOption {
	backend := session.NewMemoryBackend(session.MemoryOptions{})
	t.Cleanup(func() { backend.Close() })
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
	if err != nil {
		t.Fatal(err)
	}
	return withMW(func(c *middleware.Config) { c.Store = store })
}

// TestEveryLogoutRunsTheErasureHook: the user's logout, the provider's
// (back-channel, front-channel), a refused refresh and Middleware.Expire
// each run OnLogout once, with the reason and what is known, and emit one
// audit record, with the cookie store and with a server-side store.
func TestEveryLogoutRunsTheErasureHook(t *testing.T) {
	cases := []struct {
		name   string
		opts   []stackOption
		logout func(t *testing.T, s *stack)
		reason middleware.LogoutReason
		// data reports whether the hook gets the session's data.
		data bool
	}{
		{"user", nil, func(t *testing.T, s *stack) {
			s.follow(s.get(s.logoutRedirect().String()))
		}, middleware.ReasonUser, true},
		{"backchannel", nil, func(t *testing.T, s *stack) {
			if resp := s.postLogoutToken(s.op.LogoutToken("app", "alice", s.sid(), nil)); resp.StatusCode != http.StatusOK {
				t.Fatalf("back-channel logout: %d", resp.StatusCode)
			}
		}, middleware.ReasonBackchannel, false},
		{"frontchannel", nil, func(t *testing.T, s *stack) {
			q := url.Values{"iss": {s.op.Issuer()}, "sid": {s.sid()}}
			resp, err := http.Get(s.appURL + "/auth/frontchannel-logout?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("front-channel logout: %d", resp.StatusCode)
			}
		}, middleware.ReasonFrontchannel, false},
		{"refused refresh", []stackOption{
			withOP(func(op *devprovider.Config) { op.AccessTokenTTL = time.Second }),
			withMW(func(c *middleware.Config) { c.Providers[0].Scopes = []string{"openid", "profile", "email"} }),
		}, func(t *testing.T, s *stack) {
			s.advance(time.Second) // the access token is due for a refresh
			if err := s.op.LogoutUser("alice"); err != nil {
				t.Fatal(err)
			}
			if resp := s.get("/profile"); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("with a refused refresh: %d", resp.StatusCode)
			}
		}, middleware.ReasonRefreshRefused, true},
		{"expired by the application", nil, func(t *testing.T, s *stack) {
			if resp := s.get("/expire"); resp.StatusCode != http.StatusOK {
				t.Fatalf("/expire: %d", resp.StatusCode)
			}
		}, middleware.ReasonExpired, true},
	}
	for _, c := range cases {
		for _, store := range []string{"CookieStore", "ServerStore"} {
			t.Run(c.name+"/"+store, func(t *testing.T) {
				opts := c.opts
				if store == "ServerStore" {
					opts = append(opts[:len(opts):len(opts)], serverStore(t))
				}
				s := newStack(t, opts...)
				s.login()
				sid := s.sid()
				c.logout(t, s)
				if !s.loggedOut() {
					t.Fatal("the session survived")
				}
				erased, reports := s.erasedCount()
				if erased != 1 || reports != 1 {
					t.Fatalf("OnLogout ran %d times and %d audit records were emitted, want one each", erased, reports)
				}
				s.mu.Lock()
				e, rep := s.events[0], s.reports[0]
				s.mu.Unlock()
				// A server-side store has the data of the sessions the
				// provider names; a cookie store does not.
				wantData := c.data || store == "ServerStore"
				if e.Reason != c.reason || rep.Reason != c.reason {
					t.Errorf("reason %q, report %q; want %q", e.Reason, rep.Reason, c.reason)
				}
				if (e.Session != nil) != wantData {
					t.Errorf("Session = %v, want data %v", e.Session, wantData)
				}
				if e.Session != nil && (e.Session.Subject != "alice" || e.Session.SID != sid) {
					t.Errorf("Session of %q sid %q", e.Session.Subject, e.Session.SID)
				}
				if e.Provider != "dev" || e.Issuer != s.op.Issuer() || e.SID != sid {
					t.Errorf("event %+v, want provider dev, issuer %s, sid %s", e, s.op.Issuer(), sid)
				}
				if c.reason != middleware.ReasonFrontchannel && e.Subject != "alice" {
					t.Errorf("Subject = %q, want alice", e.Subject)
				}
				erase := false
				for _, st := range rep.Steps {
					erase = erase || st.Name == "app.erase" && st.OK
				}
				if !erase {
					t.Errorf("the audit record has no app.erase step: %+v", rep.Steps)
				}
			})
		}
	}
}
