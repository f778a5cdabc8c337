package devprovider_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/endsession/endsession/devprovider"
)

func TestSignAndForge(t *testing.T) {
	op := start(t, devprovider.Config{})
	provider, err := oidc.NewProvider(context.Background(), op.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: defaultClient})
	claims := op.IDTokenClaims(defaultClient, "alice")

	idt, err := verifier.Verify(context.Background(), op.SignIDToken(claims))
	if err != nil {
		t.Fatalf("SignIDToken: %v", err)
	}
	if idt.Subject != "alice" || idt.Issuer != op.Issuer() || idt.Audience[0] != defaultClient {
		t.Errorf("ID token = %+v", idt)
	}

	tests := []struct {
		name string
		how  devprovider.Forgery
		alg  string // the header's alg
	}{
		{"alg none", devprovider.ForgeNone, "none"},
		{"HS256 with the public key", devprovider.ForgeHS256PublicKey, "HS256"},
		{"unknown key", devprovider.ForgeUnknownKey, "RS256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := op.Forge(claims, tc.how)
			header, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
			if !strings.Contains(string(header), `"alg":"`+tc.alg+`"`) {
				t.Errorf("header = %s, want alg %s", header, tc.alg)
			}
			if _, err := verifier.Verify(context.Background(), tok); err == nil {
				t.Error("go-oidc accepted the forged token")
			}
		})
	}
}

func TestIDTokenClaims(t *testing.T) {
	clk := newClock()
	op := start(t, devprovider.Config{Now: clk.Now, IDTokenTTL: time.Minute})
	claims := op.IDTokenClaims(defaultClient, "alice")
	now := clk.Now().Unix()
	want := map[string]any{
		"iss": op.Issuer(), "sub": "alice", "aud": defaultClient, "azp": defaultClient,
		"iat": now, "exp": now + 60, "auth_time": now, "email": "alice@example.com",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("%s = %#v, want %#v", k, claims[k], v)
		}
	}
	for _, k := range []string{"nonce", "sid", "at_hash"} {
		if _, ok := claims[k]; ok {
			t.Errorf("claims have %s", k)
		}
	}
}

// TestRotateKey checks that tokens signed before and after a rotation
// verify with a key set that has cached the old JWKS.
func TestRotateKey(t *testing.T) {
	op := start(t, devprovider.Config{})
	provider, err := oidc.NewProvider(context.Background(), op.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: defaultClient})
	claims := op.IDTokenClaims(defaultClient, "alice")
	before := op.SignIDToken(claims)
	if _, err := verifier.Verify(context.Background(), before); err != nil {
		t.Fatal(err)
	}
	op.RotateKey()
	after := op.SignIDToken(claims)
	if strings.Split(before, ".")[0] == strings.Split(after, ".")[0] {
		t.Fatal("the header (kid) did not change")
	}
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := verifier.Verify(context.Background(), tok); err != nil {
			t.Errorf("token signed %s rotation: %v", name, err)
		}
	}
	// Two rotations later the first key is gone from the JWKS (go-oidc's
	// cache would still know it, so ask with a fresh key set).
	op.RotateKey()
	fresh, err := oidc.NewProvider(context.Background(), op.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Verifier(&oidc.Config{ClientID: defaultClient}).Verify(context.Background(), before); err == nil {
		t.Error("a token signed two keys ago still verifies")
	}
}

func TestHelpersPanic(t *testing.T) {
	op := start(t, devprovider.Config{})
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"IDTokenClaims unknown client", func() { op.IDTokenClaims("nobody", "alice") }, `devprovider: IDTokenClaims: unknown client "nobody"`},
		{"IDTokenClaims unknown user", func() { op.IDTokenClaims(defaultClient, "bob") }, `devprovider: IDTokenClaims: unknown user "bob"`},
		{"LogoutToken unknown client", func() { op.LogoutToken("nobody", "alice", "", nil) }, `devprovider: LogoutToken: unknown client "nobody"`},
		{"SetUserClaims unknown user", func() { op.SetUserClaims("bob", nil) }, `devprovider: SetUserClaims: unknown user "bob"`},
		{"Forge unknown forgery", func() { op.Forge(nil, 0) }, `devprovider: Forge: unknown Forgery 0`},
		{"Fail unknown endpoint", func() { op.Fail("/login", devprovider.Fault{}) }, `devprovider: unknown endpoint "/login"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tc.want {
					t.Errorf("panic = %v, want %q", got, tc.want)
				}
			}()
			tc.f()
		})
	}
}
