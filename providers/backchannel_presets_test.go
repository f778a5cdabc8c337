package providers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/endsession/endsession/providers"
	"github.com/go-jose/go-jose/v4"
)

// TestPresetsBackchannelLogout: the presets whose providers document
// back-channel logout (Keycloak, ZITADEL, authentik, Ory Hydra) take a
// logout token of their provider at /auth/backchannel-logout, with the
// issuer exactly as each writes it (authentik's trailing slash
// included), and the session with its sid ends.
func TestPresetsBackchannelLogout(t *testing.T) {
	cases := []struct {
		name string
		p    providers.Provider
		op   func(*testing.T) *fakeOP
		host string
	}{
		{"keycloak", providers.Keycloak("https://"+kcHost, kcRealm, kcClient, kcSecret), keycloakFake, kcHost},
		{"zitadel", providers.Zitadel("https://"+zitadelHost, zitadelClient, zitadelSecret), zitadelFake, zitadelHost},
		{"authentik", providers.Authentik("https://"+authentikHost, authentikSlug, authentikClient, authentikSecret), authentikFake, authentikHost},
		{"hydra", providers.Hydra("https://"+hydraHost, hydraClient, hydraSecret), hydraFake, hydraHost},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			op := tc.op(t)
			n := newInternet()
			n.handle(tc.host, op)
			a := newApp(t, n, nil, tc.p)
			a.login(tc.p.Name)
			d, ok := a.session()
			if !ok || d.SID != "sid-42" {
				t.Fatalf("session %+v", d)
			}
			now := time.Now()
			token := signLogoutToken(t, op, map[string]any{
				"iss": op.issuer, "aud": op.clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
				"jti": "jti-" + tc.name, "sub": testSubject, "sid": "sid-42",
				"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
			})
			resp, err := http.PostForm(a.URL+"/auth/backchannel-logout", url.Values{"logout_token": {token}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("back-channel logout answered %s", resp.Status)
			}
			if _, ok := a.session(); ok {
				t.Error("the session survived the back-channel logout")
			}
		})
	}
}

// signLogoutToken signs a logout token with op's key, typed logout+jwt.
func signLogoutToken(t *testing.T, op *fakeOP, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: op.key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := obj.CompactSerialize()
	return raw
}
