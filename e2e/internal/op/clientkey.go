package op

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"testing"
)

// KeyJWTClientID is the client of server.mjs that authenticates with
// private_key_jwt (ES256) and whose logins must be pushed (PAR): its key
// is [OP.ClientKey].
const KeyJWTClientID = "endsession-keyjwt"

// ClientKey returns the private key of the KeyJWTClientID client and its
// key id, which the provider made at start-up and registered.
func (o *OP) ClientKey(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	var r struct {
		JWK struct {
			Crv string `json:"crv"`
			D   string `json:"d"`
			Kid string `json:"kid"`
		} `json:"jwk"`
	}
	o.getJSON(t, "/__test/client-key", &r)
	if r.JWK.Crv != "P-256" {
		t.Fatalf("the provider's client key is on %q, not P-256", r.JWK.Crv)
	}
	d, err := base64.RawURLEncoding.DecodeString(r.JWK.D)
	if err != nil {
		t.Fatalf("the provider's client key: %v", err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		t.Fatalf("the provider's client key: %v", err)
	}
	return key, r.JWK.Kid
}
