package e2e_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
)

// TestRevocationAtLogout is scenario 7: at logout the middleware revokes
// the refresh token and the access token, side by side, at the revocation
// endpoint (RFC 7009), before the browser reaches the end-session
// endpoint. The provider's log shows both revocations; afterwards neither
// token works.
//
// oidc-provider ends the whole grant when it revokes either token: when
// the access token's revocation is served first, the refresh token goes
// with its grant and its own revocation finds nothing left (200, as RFC
// 7009 says), so the log has no refresh_token.destroyed event then. What
// counts is that the refresh token no longer works.
func TestRevocationAtLogout(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	d := login(t, b, a, "hugo")
	disc := o.Discovery(t)

	res := logoutWithButton(t, b, a, o, d.IDToken)
	requireStep(t, a, "provider.revoke", true)

	revoked := map[string]op.Event{}
	for _, e := range o.Events(t, res.Mark, "http.request") {
		if e.Str("route") == "revocation" {
			if e.Int("status") != http.StatusOK {
				t.Errorf("revocation request answered %d: %s", e.Int("status"), e)
			}
			revoked[e.Str("token_type_hint")] = e
		}
	}
	rt, at := revoked["refresh_token"], revoked["access_token"]
	if rt == nil || rt.Str("token_hash") != tokenHash(d.RefreshToken) {
		t.Errorf("no revocation of the session's refresh token %s among %v", tokenHash(d.RefreshToken), revoked)
	}
	if at == nil || at.Str("token_hash") != tokenHash(d.AccessToken) {
		t.Errorf("no revocation of the session's access token %s among %v", tokenHash(d.AccessToken), revoked)
	}
	end := endSessionRequest(t, o, res.Mark)
	ordered := []op.Event{rt, at}
	for _, e := range o.Events(t, res.Mark, "refresh_token.destroyed") {
		if e.Str("token_hash") == tokenHash(d.RefreshToken) {
			ordered = append(ordered, e)
		}
	}
	for _, e := range ordered {
		if e != nil && e.Seq() > end.Seq() {
			t.Errorf("%s came after the end-session request (seq %d)", e, end.Seq())
		}
	}

	// Neither token works any more.
	cfg := &oauth2.Config{
		ClientID: op.ConfidentialClientID, ClientSecret: op.ConfidentialClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: disc.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader},
	}
	_, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: d.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh with the revoked refresh token: %v, want invalid_grant", err)
	}
	if status, _ := callUserinfo(context.Background(), disc.UserinfoEndpoint, d.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("userinfo with the revoked access token answered %d, want 401", status)
	}
}
