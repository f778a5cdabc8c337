package e2e_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// mixUpProvider is a hostile provider configured next to the real one:
// its authorization endpoint sends the browser on to the real provider's,
// with the request it got and the redirect URI the app registered there.
// It counts the codes it is given to redeem.
type mixUpProvider struct {
	URL      string
	redeemed atomic.Int32
}

func startMixUpProvider(t *testing.T, appURL, realAuthorize string) *mixUpProvider {
	t.Helper()
	h := &mixUpProvider{}
	var dev *devprovider.Server
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case string(devprovider.Authorize):
			q := r.URL.Query()
			q.Set("client_id", op.ConfidentialClientID)
			q.Set("redirect_uri", appURL+op.CallbackPath+"/op")
			http.Redirect(w, r, realAuthorize+"?"+q.Encode(), http.StatusFound)
			return
		case string(devprovider.Token):
			h.redeemed.Add(1)
		}
		dev.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var err error
	dev, err = devprovider.New(devprovider.Config{
		Issuer:  srv.URL,
		Clients: []devprovider.Client{{ID: "app", Secret: "app-secret", RedirectURIs: []string{appURL + op.CallbackPath + "/evil"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	h.URL = srv.URL
	return h
}

// TestMixUpIsRefusedInTheBrowser: an app with two providers, the real
// one ("op") and a hostile one ("evil") that sends the user on to the real
// one. The user signs in at the real provider's pages, which send the code
// back to the real provider's own callback, /auth/callback/op; the app
// refuses it there, since the login started with "evil", and no code
// reaches the hostile token endpoint. A login with "op" goes through its
// callback.
func TestMixUpIsRefusedInTheBrowser(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	disc := o.Discovery(t)
	evil := startMixUpProvider(t, "http://"+peers.AppAddr(t), disc.AuthorizationEndpoint)
	a := startApp(t, o, func(c *middleware.Config) {
		c.Providers = append(c.Providers, providers.Provider{
			Name: "evil", Issuer: evil.URL, ClientID: "app", ClientSecret: "app-secret",
		})
	})

	b.Navigate(a.URL + "/auth/login?provider=evil&return_to=/profile")
	b.LoginAtOP("alice", "password of alice")
	b.WaitURL("the app's callback", func(u *url.URL) bool { return strings.HasPrefix(u.String(), a.URL+op.CallbackPath) })
	cb := b.RequestsTo(a.URL + op.CallbackPath + "/op")
	if len(cb) != 1 || cb[0].Query().Get("code") == "" {
		t.Fatalf("the real provider's code did not come back to /auth/callback/op: %v", b.NavigationURLs())
	}
	resp := a.Response(http.MethodGet, op.CallbackPath+"/op")
	if resp.Status != http.StatusBadRequest {
		t.Errorf("the mixed-up callback answered %s, want 400", resp)
	}
	if n := evil.redeemed.Load(); n != 0 {
		t.Fatalf("the real provider's code reached the hostile token endpoint (%d request(s))", n)
	}
	if !strings.Contains(a.logs.String(), `"code":"invalid_callback"`) {
		t.Errorf("the app's log does not name the mixed-up callback:\n%s", a.logs.String())
	}
	if names := sessionCookieNames(b, a); len(names) != 0 {
		t.Errorf("session cookies %v after a mixed-up callback", names)
	}

	// The real provider's own login comes back to its own callback.
	b.Navigate(a.URL + "/auth/login?provider=op&return_to=/profile")
	b.WaitURL("the protected page", func(u *url.URL) bool { return u.String() == a.URL+"/profile" })
	if got := b.Text("#user"); got != "alice" {
		t.Fatalf("the protected page shows %q, want alice", got)
	}
	if cb := b.RequestsTo(a.URL + op.CallbackPath + "/op"); len(cb) != 2 {
		t.Errorf("%d requests to /auth/callback/op, want 2", len(cb))
	}
}
