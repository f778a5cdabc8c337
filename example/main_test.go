package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/providers"
)

// localOnly is a provider without any logout.
type localOnly struct{}

func (localOnly) EndSession(context.Context, *providers.LogoutRequest) (providers.Action, error) {
	return providers.Local(providers.NoticeLocalOnly), nil
}

// unreachable is a provider whose logout cannot be reached.
type unreachable struct{}

func (unreachable) EndSession(context.Context, *providers.LogoutRequest) (providers.Action, error) {
	return providers.Action{}, errors.New("connection refused")
}

// TestHomePageAfterLogout signs in and out of the example with the
// development provider, and reads what the home page says: signed out of
// the site and of the provider; of the site only, when the provider has no
// logout; of the site only, when the provider could not be reached. Before
// any logout it says nothing of the kind.
func TestHomePageAfterLogout(t *testing.T) {
	for _, c := range []struct {
		name   string
		logout providers.Logout
		want   string
	}{
		{"provider logout", nil, "You are signed out of this site and of the provider."},
		{"no provider logout", localOnly{}, "the provider has no logout"},
		{"provider unreachable", unreachable{}, "the provider could not be reached"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			appURL := "http://" + ln.Addr().String()
			op, err := devprovider.Start(devprovider.Config{
				Addr: "127.0.0.1:0",
				Clients: []devprovider.Client{{
					ID: "example", Secret: "example-secret",
					RedirectURIs:           []string{appURL + "/auth/callback"},
					PostLogoutRedirectURIs: []string{appURL + "/auth/logged-out"},
				}},
				AutoLogin: "alice",
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { op.Close() })
			h, err := newApp(appURL, providers.Provider{
				Name: "development", Issuer: op.Issuer(), ClientID: "example", ClientSecret: "example-secret", Logout: c.logout,
			})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(h)
			srv.Listener.Close()
			srv.Listener = ln
			srv.Start()
			t.Cleanup(srv.Close)
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Timeout: 10 * time.Second}

			if page := read(t, client, http.MethodGet, appURL+"/profile", nil); !strings.Contains(page, "alice") {
				t.Fatalf("the profile page after login: %q", page)
			}
			// Every page of a signed-in user has the sign-out button.
			for _, path := range []string{"/", "/profile"} {
				page := read(t, client, http.MethodGet, appURL+path, nil)
				if !strings.Contains(page, `<form method="post" action="/auth/logout"><button id="logout" type="submit">Sign out</button></form>`) {
					t.Errorf("%s of a signed-in user has no sign-out button: %q", path, page)
				}
				if strings.Contains(page, "signed out") {
					t.Fatalf("%s says signed out before any logout: %q", path, page)
				}
			}
			page := read(t, client, http.MethodPost, appURL+"/auth/logout", http.Header{
				"Origin": {appURL}, "Content-Type": {"application/x-www-form-urlencoded"},
			})
			if !strings.Contains(page, `id="signed-out"`) || !strings.Contains(page, c.want) || !strings.Contains(page, `id="login"`) {
				t.Errorf("the home page after the logout says %q, want %q", page, c.want)
			}
		})
	}
}

// read sends a request, follows the redirects, and returns the final page.
func read(t *testing.T, client *http.Client, method, target string, h http.Header) string {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		u, _ := url.Parse(target)
		t.Fatalf("%s %s ended at %s with %d: %s", method, u.Path, resp.Request.URL, resp.StatusCode, b)
	}
	return string(b)
}
