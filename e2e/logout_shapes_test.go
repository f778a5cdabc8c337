package e2e_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// withLogout gives the app's provider the logout strategy l.
func withLogout(l providers.Logout) func(*middleware.Config) {
	return func(cfg *middleware.Config) { cfg.Providers[0].Logout = l }
}

// TestLogoutAsPostForm is the auto-submitted POST form shape against the
// real provider: oidc-provider, started with POST enabled at its
// end_session_endpoint. The form page lets its form go to the provider;
// the provider asks, ends its session, and returns the state.
func TestLogoutAsPostForm(t *testing.T) {
	o := op.Start(t, op.Config{AppURLs: []string{"http://" + peers.AppAddr(t)}, HTTPPost: true})
	for i, entry := range []logoutEntry{signOutButton, typedLogoutURL} {
		t.Run(entry.name, func(t *testing.T) {
			b := browser.New(t)
			a := startApp(t, o, withLogout(providers.RPInitiated{Method: http.MethodPost}))
			d := login(t, b, a, "poster"+string(rune('a'+i)))
			logoutThrough(t, b, a, o, d.IDToken, entry, http.MethodPost)
			requireStep(t, a, "provider.end_session", true)
			requireLoginForm(t, b, a, o)
		})
	}
}

// agentLogout stands for France Travail's agent logout endpoint: it takes
// only a POST with id_token_hint and redirect_uri, sends no state back,
// and answers with a 302 to redirect_uri at once. Behind it, the user's
// session at the provider that signed the ID token ends (through the
// provider's admin route, by the hint's sid).
type agentLogout struct {
	op          *op.OP
	redirectURI string

	mu    sync.Mutex
	posts []url.Values
	errs  []string
}

func (s *agentLogout) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/connexion/oauth2/deconnexion" {
		http.Error(w, "POST /connexion/oauth2/deconnexion only", http.StatusMethodNotAllowed)
		return
	}
	r.ParseForm()
	s.mu.Lock()
	s.posts = append(s.posts, r.PostForm)
	s.mu.Unlock()
	hint, back := r.PostForm.Get("id_token_hint"), r.PostForm.Get("redirect_uri")
	if hint == "" || back != s.redirectURI {
		s.fail("id_token_hint missing or redirect_uri " + back + " not registered")
		http.Error(w, "bad logout request", http.StatusBadRequest)
		return
	}
	if err := s.endSession(r.Context(), hint); err != nil {
		s.fail(err.Error())
		http.Error(w, "logout failed", http.StatusBadGateway)
		return
	}
	http.Redirect(w, r, back, http.StatusFound)
}

func (s *agentLogout) fail(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, msg)
}

// endSession ends the provider session that issued the ID token.
func (s *agentLogout) endSession(ctx context.Context, idToken string) error {
	claims := claimsOf(idToken)
	sid, _ := claims["sid"].(string)
	if sid == "" {
		return errString("the hint has no sid")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.op.URL+"/__test/logout", strings.NewReader(url.Values{"sid": {sid}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errString("the provider's admin logout answered " + resp.Status)
	}
	return nil
}

// claimsOf decodes a JWT's claims without checking anything; none when it
// is not a JWT.
func claimsOf(jwt string) map[string]any {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	return claims
}

// keys returns the names of v, sorted.
func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type errString string

func (e errString) Error() string { return string(e) }

// TestLogoutFranceTravailAgentShape is the France Travail agent logout:
// the preset's own strategy (an auto-submitted POST form with
// id_token_hint and redirect_uri, no state) against a server of that
// shape, which answers the POST with a 302 back to the landing route. The
// browser must follow that redirect home, though it follows a form
// submission that went to another origin.
func TestLogoutFranceTravailAgentShape(t *testing.T) {
	o := op.Shared(t)
	for i, entry := range []logoutEntry{signOutButton, typedLogoutURL} {
		t.Run(entry.name, func(t *testing.T) {
			b := browser.New(t)
			ft := &agentLogout{op: o, redirectURI: "http://" + peers.AppAddr(t) + op.LoggedOutPath}
			srv := httptest.NewServer(ft)
			t.Cleanup(srv.Close)
			endpoint := srv.URL + "/connexion/oauth2/deconnexion"
			agent := providers.FranceTravail(providers.FranceTravailConfig{Realm: providers.FranceTravailAgent, LogoutURL: endpoint})
			a := startApp(t, o, withLogout(agent.Logout))
			d := login(t, b, a, "agent"+string(rune('a'+i)))
			sid := b.Text("#sid")
			a.ResetResponses()
			b.ResetRequests()

			entry.start(t, b, a)
			final := b.WaitURL("the app's home", func(u *url.URL) bool { return u.String() == a.URL+"/" })
			if !b.Exists("#home") || b.Text("#notice") != "" {
				t.Fatalf("after the logout the browser is at %s, notice %q", final, b.Text("#notice"))
			}
			checkLogoutResponse(t, a, entry, http.MethodPost, endpoint)
			ends := b.RequestsTo(endpoint)
			if len(ends) != 1 || ends[0].Method != http.MethodPost || ends[0].Status != http.StatusFound {
				t.Fatalf("requests to the agent logout %v, want one POST answered 302", ends)
			}
			p := ends[0].Form()
			if p.Get("id_token_hint") != d.IDToken || p.Get("redirect_uri") != a.URL+op.LoggedOutPath || p.Has("state") || p.Has("post_logout_redirect_uri") {
				t.Errorf("the agent logout got %v, want exactly id_token_hint and redirect_uri", keys(p))
			}
			ft.mu.Lock()
			errs := ft.errs
			ft.mu.Unlock()
			if len(errs) > 0 {
				t.Errorf("the agent logout refused: %v", errs)
			}
			landed := a.Response(http.MethodGet, op.LoggedOutPath)
			if landed.Status != http.StatusSeeOther || landed.Header.Get("Location") != "/" {
				t.Errorf("the landing answered %s, want 303 to /", landed)
			}
			if n := o.SessionsWithSID(t, sid); n != 0 {
				t.Errorf("the provider still holds the session (its admin view finds %d)", n)
			}
			if left := appCookieNames(b); len(left) > 0 {
				t.Errorf("after the logout the browser still holds the app's cookies %v", left)
			}
			requireStep(t, a, "provider.end_session", true)
			requireLoginForm(t, b, a, o)
		})
	}
}

// serverLogout is a strategy that ends the provider session server to
// server (the provider's admin route, by the session's sid) and lands
// locally.
type serverLogout struct{ op *op.OP }

func (l serverLogout) EndSession(ctx context.Context, req *providers.LogoutRequest) (providers.Action, error) {
	if err := (&agentLogout{op: l.op}).endSession(ctx, req.IDToken); err != nil {
		return providers.Action{}, err
	}
	return providers.Action{Calls: []string{"POST " + l.op.URL + "/__test/logout: 200"}}, nil
}

// localOnly is a provider without any logout.
type localOnly struct{}

func (localOnly) EndSession(context.Context, *providers.LogoutRequest) (providers.Action, error) {
	return providers.Local(providers.NoticeLocalOnly), nil
}

// TestLogoutServerToServerAndLocal are the shapes without a browser trip
// to the provider: a server-to-server call that ends the provider's
// session, then a local redirect; and a provider with no logout at all,
// where the home page says that only this site signed out. Either way
// every cookie of the app is gone.
func TestLogoutServerToServerAndLocal(t *testing.T) {
	o := op.Shared(t)
	for _, c := range []struct {
		name       string
		logout     providers.Logout
		notice     string
		opSessions int // the provider sessions left
	}{
		{"server to server", serverLogout{op: o}, "", 0},
		{"local only", localOnly{}, providers.NoticeLocalOnly, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := browser.New(t)
			a := startApp(t, o, withLogout(c.logout))
			login(t, b, a, strings.ReplaceAll(c.name, " ", ""))
			sid := b.Text("#sid")
			a.ResetResponses()
			b.ResetRequests()
			b.Click("#logout")
			final := b.WaitURL("the app's home", func(u *url.URL) bool { return u.Path == "/" })
			if got := final.Query().Get(middleware.PostLogoutNoticeParam); got != c.notice || b.Text("#notice") != c.notice {
				t.Errorf("landed on %s showing notice %q, want %q", final, b.Text("#notice"), c.notice)
			}
			if resp := a.Response(http.MethodPost, "/auth/logout"); resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != op.LoggedOutPath {
				t.Errorf("the logout response is %s, want 303 to %s", resp, op.LoggedOutPath)
			}
			if n := o.SessionsWithSID(t, sid); n != c.opSessions {
				t.Errorf("the provider holds %d session(s) with the sid, want %d", n, c.opSessions)
			}
			// Where the provider's session survives, one cookie without a
			// value stays: it holds silent logins back.
			var left []string
			for _, ck := range b.AllCookies() {
				if isAppCookie(ck.Name) && !(c.opSessions > 0 && strings.HasSuffix(ck.Name, "endsession_nosilent") && ck.Value == "") {
					left = append(left, ck.Name)
				}
			}
			if len(left) > 0 {
				t.Errorf("after the logout the browser still holds the app's cookies %v", left)
			}
			requireStep(t, a, "provider.end_session", true)
			if c.opSessions == 0 {
				requireStep(t, a, "provider.call", true)
				requireLoginForm(t, b, a, o)
			}
		})
	}
}
