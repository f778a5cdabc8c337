package providers

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ClientAssertionType is the client_assertion_type of a private_key_jwt
// client authentication (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a client assertion is valid: it is made
// for one request, just before it is sent.
const AssertionLifetime = 60 * time.Second

// Signing algorithms of client assertions.
const (
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256, for RSA keys of at least
	// 2048 bits.
	RS256 = "RS256"
	// ES256 is ECDSA on the P-256 curve with SHA-256.
	ES256 = "ES256"
)

// ClientKey is the application's signing key for [AuthPrivateKeyJWT]
// (RFC 7523, OpenID Connect Core §9): each request to the token,
// revocation or pushed authorization endpoint carries a fresh assertion
// signed with it. Its public key is registered at the provider, usually as
// a JWKS with the same key id.
type ClientKey struct {
	// Signer holds the private key: an *rsa.PrivateKey, an
	// *ecdsa.PrivateKey on P-256, or any crypto.Signer over such a key
	// (a key kept in a KMS or an HSM). Required.
	Signer crypto.Signer
	// KeyID is the assertion's "kid" header, the key's id in the JWKS
	// registered at the provider; empty sends no kid.
	KeyID string
	// Algorithm is [RS256] or [ES256]; default the one of the key's type.
	// It must match the key: [Provider.Validate] checks it at start-up.
	Algorithm string
	// Audience is the assertion's "aud". The default is the token
	// endpoint's URL, as OpenID Connect Core §9 asks, at every endpoint
	// the assertion is sent to (the token endpoint for codes and
	// refreshes, and the revocation and pushed authorization endpoints);
	// set it to the issuer identifier for providers that want that
	// (RFC 7523bis, FAPI 2.0), which also keeps an assertion made for one
	// provider from being good at another that shares the key and client
	// id.
	Audience string
}

// algorithm returns the key's algorithm, checking that it matches the key.
func (k *ClientKey) algorithm() (string, error) {
	if k == nil || k.Signer == nil {
		return "", errors.New("private_key_jwt needs a ClientKey with a Signer")
	}
	switch pub := k.Signer.Public().(type) {
	case *rsa.PublicKey:
		if k.Algorithm != "" && k.Algorithm != RS256 {
			return "", fmt.Errorf("ClientKey: an RSA key signs with RS256, not %q", k.Algorithm)
		}
		if pub.N.BitLen() < 2048 {
			return "", fmt.Errorf("ClientKey: an RSA key of %d bits is too short; use 2048 bits or more", pub.N.BitLen())
		}
		return RS256, nil
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", errors.New("ClientKey: an ECDSA key must be on P-256 (ES256)")
		}
		if k.Algorithm != "" && k.Algorithm != ES256 {
			return "", fmt.Errorf("ClientKey: a P-256 key signs with ES256, not %q", k.Algorithm)
		}
		return ES256, nil
	default:
		return "", fmt.Errorf("ClientKey: unsupported key type %T; use RSA (RS256) or ECDSA P-256 (ES256)", pub)
	}
}

// Assertion returns a client assertion (RFC 7523 §3) for clientID, made at
// now: iss and sub are clientID, aud is audience (unless k.Audience is
// set), jti is random, and it expires [AssertionLifetime] later. It is a
// credential: never log it.
func (k *ClientKey) Assertion(clientID, audience string, now time.Time) (string, error) {
	alg, err := k.algorithm()
	if err != nil {
		return "", err
	}
	if k.Audience != "" {
		audience = k.Audience
	}
	header := map[string]string{"alg": alg, "typ": "JWT"}
	if k.KeyID != "" {
		header["kid"] = k.KeyID
	}
	claims := map[string]any{
		"iss": clientID, "sub": clientID, "aud": audience,
		"jti": rand.Text(), "iat": now.Unix(), "exp": now.Add(AssertionLifetime).Unix(),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("client assertion: %w", err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := k.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("client assertion: signing: %w", err)
	}
	if alg == ES256 {
		if sig, err = rawECDSA(sig); err != nil {
			return "", fmt.Errorf("client assertion: %w", err)
		}
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// rawECDSA turns an ASN.1 ECDSA signature, as crypto.Signer gives it, into
// the 64 bytes R || S that JWS asks for (RFC 7518 §3.4).
func rawECDSA(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
		return nil, errors.New("the signer gave a malformed ECDSA signature")
	}
	out := make([]byte, 64)
	if rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("the signer gave an ECDSA signature too long for P-256")
	}
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out, nil
}
