package endsession_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
)

// TestErasureHookClearsTheApplicationsCookies: when a session ends in
// answer to the user's own browser, OnLogout gets that request and its
// response, so the application expires its own cookies (a cart, a
// preference) in the very answer that ends the session; a provider's
// back-channel logout, which no browser of the user reads, gets neither.
func TestErasureHookClearsTheApplicationsCookies(t *testing.T) {
	cases := []struct {
		name    string
		opts    []stackOption
		logout  func(t *testing.T, s *stack)
		browser bool
	}{
		{"user", nil, func(t *testing.T, s *stack) {
			s.follow(s.postLogout(s.appURL))
		}, true},
		{"expired by the application", nil, func(t *testing.T, s *stack) {
			s.get("/expire")
		}, true},
		{"refused refresh", []stackOption{
			withOP(func(op *devprovider.Config) { op.AccessTokenTTL = time.Second }),
			withMW(func(c *middleware.Config) { c.Providers[0].Scopes = []string{"openid", "profile", "email"} }),
		}, func(t *testing.T, s *stack) {
			s.advance(time.Second)
			if err := s.op.LogoutUser("alice"); err != nil {
				t.Fatal(err)
			}
			s.get("/profile")
		}, true},
		{"backchannel", nil, func(t *testing.T, s *stack) {
			if resp := s.postLogoutToken(s.op.LogoutToken("app", "alice", s.sid(), nil)); resp.StatusCode != http.StatusOK {
				t.Fatalf("back-channel logout: %d", resp.StatusCode)
			}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotRequest, gotResponse bool
			clear := withMW(func(cfg *middleware.Config) {
				record := cfg.OnLogout
				cfg.OnLogout = func(ctx context.Context, e middleware.LogoutEvent) error {
					gotRequest, gotResponse = e.Request != nil, e.Response != nil
					if e.Response != nil {
						if _, err := e.Request.Cookie("app_cart"); err == nil {
							http.SetCookie(e.Response, &http.Cookie{Name: "app_cart", Path: "/", MaxAge: -1})
						}
					}
					return record(ctx, e)
				}
			})
			s := newStack(t, append(c.opts[:len(c.opts):len(c.opts)], clear)...)
			s.login()
			u, _ := url.Parse(s.appURL)
			s.client.Jar.SetCookies(u, []*http.Cookie{{Name: "app_cart", Value: "3-items", Path: "/"}})
			c.logout(t, s)
			if !s.loggedOut() {
				t.Fatal("the session survived")
			}
			if gotRequest != c.browser || gotResponse != c.browser {
				t.Fatalf("OnLogout got a request %v and a response %v, want %v", gotRequest, gotResponse, c.browser)
			}
			kept := false
			for _, ck := range s.client.Jar.Cookies(u) {
				kept = kept || ck.Name == "app_cart"
			}
			if kept == c.browser {
				t.Errorf("the application's cookie kept: %v, want %v", kept, !c.browser)
			}
		})
	}
}
