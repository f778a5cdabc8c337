package e2e_test

import (
	"context"
	"html/template"
	"net/http"
	"testing"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/middleware"
)

// TestErasureHookClearsAppCookiesInTheBrowser: the sign-out button's
// answer carries the Set-Cookie that OnLogout added through
// LogoutEvent.Response, and Chromium drops the application's own cookie
// with the session's, while a cookie the hook leaves alone stays.
func TestErasureHookClearsAppCookiesInTheBrowser(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o, func(c *middleware.Config) {
		record := c.OnLogout
		c.OnLogout = func(ctx context.Context, e middleware.LogoutEvent) error {
			if e.Response != nil {
				http.SetCookie(e.Response, &http.Cookie{Name: "app_cart", Path: "/", MaxAge: -1})
			}
			return record(ctx, e)
		}
	})
	d := login(t, b, a, "ivy")
	b.SetCookie(a.URL+"/", "app_cart", "3-items")
	b.SetCookie(a.URL+"/", "app_theme", "dark")
	if _, ok := b.Cookie(a.URL, "app_cart"); !ok {
		t.Fatal("the browser did not take the application's cookie")
	}
	logoutWithButton(t, b, a, o, d.IDToken)
	if _, ok := b.Cookie(a.URL, "app_cart"); ok {
		t.Error("the application's cookie survived the sign-out its OnLogout expired it in")
	}
	if _, ok := b.Cookie(a.URL, "app_theme"); !ok {
		t.Error("a cookie OnLogout left alone was dropped")
	}
}

// TestApplicationPagesInTheBrowser: with Config.Pages, the confirmation
// page and the page that takes the browser to the provider are the
// application's own templates, and the logout still completes in
// Chromium under the middleware's CSP: the form posts to the app, the
// page's nonce'd script navigates to the provider, and the provider
// comes back.
func TestApplicationPagesInTheBrowser(t *testing.T) {
	pages := template.Must(template.New("").Parse(`
{{define "_layout"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head><body><header id="app-page">the app</header>{{end}}
{{define "confirm-logout"}}{{template "_layout" .}}<p>Leave the app?</p><form method="post" action="{{.Action}}">` +
		`{{if .ReturnTo}}<input type="hidden" name="return_to" value="{{.ReturnTo}}">{{end}}` +
		`<input type="hidden" name="{{.FormActionField}}" value="self"><button id="confirm-logout" type="submit">Leave</button></form>` +
		`<footer>ref {{.CorrelationID}}</footer></body></html>{{end}}
{{define "signing-out"}}{{template "_layout" .}}<p><a href="{{.URL}}">Continue</a></p>` +
		`<script nonce="{{.Nonce}}">location.replace({{.URL}})</script></body></html>{{end}}
`))
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o, func(c *middleware.Config) { c.Pages = pages })
	d := login(t, b, a, "jade")
	sawAppPage := false
	entry := logoutEntry{name: "typed URL, the application's confirmation page", method: http.MethodPost, confirm: true,
		start: func(t *testing.T, b *browser.Browser, a *app) {
			b.Navigate(a.URL + "/auth/logout")
			b.WaitVisible("#confirm-logout")
			sawAppPage = b.Exists("#app-page")
			confirmLogout(t, b, a)
		}}
	logoutThrough(t, b, a, o, d.IDToken, entry, http.MethodGet)
	if !sawAppPage {
		t.Error("the confirmation page was not the application's template")
	}
}
