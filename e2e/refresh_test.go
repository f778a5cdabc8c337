package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
)

// TestTransparentRefresh is scenario 6: with a private provider whose
// access tokens last 2 seconds, the user goes on using the app, and its
// calls to an API with the user's access token (the provider's userinfo),
// past the token's expiry. The middleware refreshes the tokens before the
// application sees the request; the provider's log shows the refresh
// grant, with the refresh token rotated, and no new login.
func TestTransparentRefresh(t *testing.T) {
	addr := "http://" + peers.AppAddr(t)
	o := op.Start(t, op.Config{AppURLs: []string{addr}, AccessTokenTTL: 2 * time.Second})
	b := browser.New(t)
	a := startApp(t, o)
	first := login(t, b, a, "gina")

	// Let the session's access token expire. (The provider itself keeps
	// taking an access token for 15 seconds past its exp, oidc-provider's
	// clock tolerance, so the test goes by the token's exp.)
	time.Sleep(time.Until(first.Expiry) + 1100*time.Millisecond)
	if !time.Now().After(first.Expiry) {
		t.Fatal("the access token has not expired")
	}

	mark := o.Mark(t)
	a.ResetResponses()
	b.ResetRequests()
	b.Navigate(a.URL + "/api")
	if u := b.URL(); u != a.URL+"/api" {
		t.Fatalf("the app sent the browser to %s", u)
	}
	if status, sub := b.Text("#api-status"), b.Text("#api-sub"); status != "200" || sub != "gina" {
		t.Fatalf("the app's API call answered %s for %q, want 200 for gina", status, sub)
	}
	now := a.LastSession()
	if now.ID != first.ID || now.Subject != "gina" {
		t.Errorf("session %q of %q, want the same session %q of gina", now.ID, now.Subject, first.ID)
	}
	if now.AccessToken == first.AccessToken || !now.Expiry.After(first.Expiry) {
		t.Errorf("the access token was not renewed (expiry %v, was %v)", now.Expiry, first.Expiry)
	}
	if now.RefreshToken == first.RefreshToken {
		t.Error("the refresh token was not rotated")
	}

	// The provider's log: one refresh with the session's refresh token,
	// which the provider consumed, and no login.
	grant := o.WaitEvent(t, mark, "grant.success", func(e op.Event) bool { return e.Str("grant_type") == "refresh_token" })
	if grant.Str("client_id") != op.ConfidentialClientID || grant.Str("account_id") != "gina" ||
		grant.Str("refresh_token_hash") != tokenHash(first.RefreshToken) || !grant.Bool("refresh_token_rotated") {
		t.Errorf("the refresh at the provider: %s", grant)
	}
	o.WaitEvent(t, mark, "refresh_token.consumed", func(e op.Event) bool { return e.Str("token_hash") == tokenHash(first.RefreshToken) })
	for _, name := range []string{"grant.error", "interaction.started", "authorization.success"} {
		if evs := o.Events(t, mark, name); len(evs) > 0 {
			t.Errorf("unexpected %s at the provider: %v", name, evs)
		}
	}
	if cb := b.RequestsTo(o.URL); len(cb) > 0 {
		t.Errorf("the browser went to the provider: %v", cb)
	}
	// The refreshed session went back to the browser.
	resp := a.Response(http.MethodGet, "/api")
	refreshed := false
	for _, c := range resp.Cookies() {
		refreshed = refreshed || c.Name == a.SessionCookie && c.MaxAge > 0
	}
	if resp.Status != http.StatusOK || !refreshed {
		t.Errorf("the refreshing response %s does not save the session; Set-Cookie: %v", resp, resp.Header.Values("Set-Cookie"))
	}
}
