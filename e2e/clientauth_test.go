package e2e_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
)

// TestPrivateKeyJWTWithPushedAuthorization signs in and out in Chromium
// as the provider's private_key_jwt client, whose logins must be pushed
// (require_pushed_authorization_requests in its registration): the
// authorization request goes to the PAR endpoint with a client assertion,
// the browser carries only client_id and request_uri, the code is redeemed
// and the tokens revoked at logout with assertions, and the provider
// accepts each one.
func TestPrivateKeyJWTWithPushedAuthorization(t *testing.T) {
	o := op.Shared(t)
	key, kid := o.ClientKey(t)
	b := browser.New(t)
	mark := o.Mark(t)
	a := startApp(t, o, func(c *middleware.Config) {
		p := &c.Providers[0]
		p.ClientID, p.ClientSecret = op.KeyJWTClientID, ""
		p.ClientKey = &providers.ClientKey{Signer: key, KeyID: kid}
		p.PushedAuthorization = true
	})
	d := login(t, b, a, "karl")

	requests := func(route string) []op.Event {
		var out []op.Event
		for _, e := range o.Events(t, mark, "http.request") {
			if e.Str("route") == route && e.Str("client_id") == op.KeyJWTClientID {
				out = append(out, e)
			}
		}
		return out
	}
	pushed := requests("pushed_authorization_request")
	if len(pushed) != 1 || pushed[0].Int("status") != http.StatusCreated || !pushed[0].Bool("client_assertion") {
		t.Fatalf("pushed authorization requests: %v", pushed)
	}
	authorize := requests("authorization")
	if len(authorize) == 0 || authorize[0].Str("query") != "client_id request_uri" {
		t.Errorf("the browser's authorization request carried %v, want only client_id and request_uri", authorize)
	}
	token := requests("token")
	if len(token) != 1 || token[0].Int("status") != http.StatusOK || !token[0].Bool("client_assertion") {
		t.Errorf("token requests: %v", token)
	}

	res := logoutWithButton(t, b, a, o, d.IDToken)
	requireStep(t, a, "provider.revoke", true)
	var revoked int
	for _, e := range o.Events(t, res.Mark, "http.request") {
		if e.Str("route") == "revocation" {
			revoked++
			if e.Int("status") != http.StatusOK || !e.Bool("client_assertion") {
				t.Errorf("revocation request: %s", e)
			}
		}
	}
	if revoked != 2 {
		t.Errorf("%d revocation requests, want 2", revoked)
	}
	// No token nor assertion (a JWT's header starts with "eyJ") is logged.
	if strings.Contains(a.logs.String(), "eyJ") {
		t.Error("the middleware's log holds a JWT")
	}
}
