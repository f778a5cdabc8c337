package providers_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/providers"
)

// testKeys are generated once: RSA keys are slow to make.
var (
	rsaKey, _   = rsa.GenerateKey(rand.Reader, 2048)
	shortRSA, _ = rsa.GenerateKey(rand.Reader, 1024)
	p256Key, _  = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384Key, _  = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ = ed25519.GenerateKey(rand.Reader)
)

func keyProvider(method providers.AuthMethod, key *providers.ClientKey) providers.Provider {
	return providers.Provider{Name: "p", Issuer: "https://op.example", ClientID: "c", AuthMethod: method, ClientKey: key}
}

func TestValidateChecksTheClientKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    providers.Provider
		want string // "" accepts
	}{
		{"RS256", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: rsaKey, KeyID: "k1", Algorithm: providers.RS256}), ""},
		{"ES256", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: p256Key, KeyID: "k1", Algorithm: providers.ES256}), ""},
		{"algorithm from the key", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: p256Key}), ""},
		{"a key makes the default method", keyProvider("", &providers.ClientKey{Signer: rsaKey}), ""},
		{"no key", keyProvider(providers.AuthPrivateKeyJWT, nil), "ClientKey"},
		{"no signer", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{KeyID: "k1"}), "Signer"},
		{"RSA with ES256", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: rsaKey, Algorithm: providers.ES256}), "RS256"},
		{"P-256 with RS256", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: p256Key, Algorithm: providers.RS256}), "ES256"},
		{"unknown algorithm", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: rsaKey, Algorithm: "PS256"}), "PS256"},
		{"short RSA key", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: shortRSA}), "1024 bits"},
		{"P-384 key", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: p384Key}), "P-256"},
		{"Ed25519 key", keyProvider(providers.AuthPrivateKeyJWT, &providers.ClientKey{Signer: edKey}), "unsupported key type"},
		{"secret method with a bad key", providers.Provider{Name: "p", Issuer: "https://op.example", ClientID: "c", ClientSecret: "s",
			ClientKey: &providers.ClientKey{Signer: p384Key}}, "P-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate refused it: %v", err)
			case tc.want != "" && err == nil:
				t.Fatal("Validate accepted it")
			case tc.want != "" && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "p:")):
				t.Fatalf("error %q does not name %q and the provider", err, tc.want)
			}
		})
	}
}

// verifyAssertion checks jwt's signature with pub and returns its header
// and claims.
func verifyAssertion(t *testing.T, jwt string, pub crypto.PublicKey) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("RS256 signature: %v", err)
		}
	case *ecdsa.PublicKey:
		if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			t.Fatalf("ES256 signature of %d bytes does not verify", len(sig))
		}
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestAssertion(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{{providers.RS256, rsaKey}, {providers.ES256, p256Key}} {
		t.Run(tc.alg, func(t *testing.T) {
			k := &providers.ClientKey{Signer: tc.key, KeyID: "key-1"}
			first, err := k.Assertion("client-7", "https://op.example/token", now)
			if err != nil {
				t.Fatal(err)
			}
			header, claims := verifyAssertion(t, first, tc.key.Public())
			if header["alg"] != tc.alg || header["kid"] != "key-1" || header["typ"] != "JWT" {
				t.Errorf("header = %v", header)
			}
			want := map[string]any{"iss": "client-7", "sub": "client-7", "aud": "https://op.example/token",
				"iat": float64(now.Unix()), "exp": float64(now.Add(60 * time.Second).Unix())}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("%s = %v, want %v", k, claims[k], v)
				}
			}
			second, _ := k.Assertion("client-7", "https://op.example/token", now)
			_, again := verifyAssertion(t, second, tc.key.Public())
			if jti, _ := claims["jti"].(string); len(jti) < 16 || again["jti"] == jti {
				t.Errorf("jti %q then %q: not unique random values", jti, again["jti"])
			}
			k.Audience = "https://op.example"
			third, _ := k.Assertion("client-7", "https://op.example/token", now)
			if _, c := verifyAssertion(t, third, tc.key.Public()); c["aud"] != "https://op.example" {
				t.Errorf("aud = %v with Audience set", c["aud"])
			}
		})
	}
}

func TestResolveWithAPrivateKeyJWT(t *testing.T) {
	p := keyProvider("", &providers.ClientKey{Signer: p256Key})
	p.ClientSecret = "not sent"
	p.Endpoints = providers.Endpoints{AuthURL: "https://op.example/a", TokenURL: "https://op.example/t", JWKSURL: "https://op.example/k"}
	r, err := p.Resolve(context.Background(), "https://app.example/cb")
	if err != nil {
		t.Fatal(err)
	}
	if r.OAuth2.ClientSecret != "" || r.OAuth2.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
		t.Errorf("x/oauth2 would send a secret or Basic credentials: %+v", r.OAuth2.Endpoint)
	}
	if p.TokenAuthMethod() != providers.AuthPrivateKeyJWT {
		t.Errorf("TokenAuthMethod = %q", p.TokenAuthMethod())
	}
}

func TestDiscoveryReadsPushedAuthorizationAndAuthMethods(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/a", "token_endpoint": srv.URL + "/t", "jwks_uri": srv.URL + "/k",
			"pushed_authorization_request_endpoint":      srv.URL + "/par",
			"require_pushed_authorization_requests":      true,
			"token_endpoint_auth_methods_supported":      []string{"private_key_jwt"},
			"revocation_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		})
	}))
	defer srv.Close()
	p := providers.Provider{Name: "p", Issuer: srv.URL, ClientID: "c"}
	e, err := p.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e.PushedAuthURL != srv.URL+"/par" || !e.RequirePushed ||
		strings.Join(e.TokenAuthMethods, ",") != "private_key_jwt" || strings.Join(e.RevocationAuthMethods, ",") != "client_secret_basic" {
		t.Errorf("endpoints = %+v", e)
	}
}

func TestRevocationAuthMethod(t *testing.T) {
	key := &providers.ClientKey{Signer: p256Key}
	for _, tc := range []struct {
		name      string
		p         providers.Provider
		supported []string
		want      providers.AuthMethod
	}{
		{"nothing advertised", providers.Provider{ClientSecret: "s"}, nil, providers.AuthBasic},
		{"the token endpoint's method", providers.Provider{ClientSecret: "s", AuthMethod: providers.AuthPost},
			[]string{"client_secret_basic", "client_secret_post"}, providers.AuthPost},
		{"key at the token endpoint, a secret at revocation", providers.Provider{ClientSecret: "s", ClientKey: key},
			[]string{"client_secret_post"}, providers.AuthPost},
		{"secret at the token endpoint, the key at revocation", providers.Provider{ClientSecret: "s", AuthMethod: providers.AuthBasic, ClientKey: key},
			[]string{"private_key_jwt"}, providers.AuthPrivateKeyJWT},
		{"a secret prefers Basic", providers.Provider{ClientSecret: "s", ClientKey: key},
			[]string{"client_secret_post", "client_secret_basic"}, providers.AuthBasic},
		{"nothing the client can do: its own method", providers.Provider{ClientKey: key},
			[]string{"client_secret_basic"}, providers.AuthPrivateKeyJWT},
		{"a public client", providers.Provider{}, []string{"none"}, providers.AuthNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.RevocationAuthMethod(tc.supported); got != tc.want {
				t.Errorf("RevocationAuthMethod = %q, want %q", got, tc.want)
			}
		})
	}
}
