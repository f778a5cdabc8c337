package devprovider

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is an RSA key with its key ID.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
}

func newSigningKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devprovider: generating key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public()}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devprovider: key thumbprint: %w", err)
	}
	return &signingKey{priv: priv, kid: base64.RawURLEncoding.EncodeToString(thumb)[:16]}, nil
}

func (k *signingKey) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(jose.RS256), Use: "sig"}
}

// sign signs claims with k as a JWT with RS256, the kid header and typ.
func (k *signingKey) sign(claims map[string]any, typ string) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("devprovider: encoding claims: %w", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)),
	)
	if err != nil {
		return "", fmt.Errorf("devprovider: signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("devprovider: signing: %w", err)
	}
	return jws.CompactSerialize()
}

// signingKey returns the current signing key.
func (s *Server) signingKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0]
}

// signJWT signs claims with the current key; it panics on failure, which
// only a broken random source or unencodable claims can cause.
func (s *Server) signJWT(claims map[string]any, typ string) string {
	tok, err := s.signingKey().sign(claims, typ)
	if err != nil {
		panic(err.Error())
	}
	return tok
}

// RotateKey makes a fresh RSA-2048 key the signing key. The JWKS keeps
// publishing the previous key, so tokens it signed still verify; keys older
// than that are dropped. It panics if no key can be generated.
func (s *Server) RotateKey() {
	key, err := newSigningKey()
	if err != nil {
		panic(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = []*signingKey{key, s.keys[0]}
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET")
		return
	}
	s.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range s.keys {
		set.Keys = append(set.Keys, k.publicJWK())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

// verifyOwnToken checks that raw is an RS256 JWT signed by one of the
// published keys and issued by issuer, and returns its claims. It does not
// check times.
func (s *Server) verifyOwnToken(raw, issuer string) (map[string]any, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("not a signed JWT: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("not a single-signature JWT")
	}
	kid := jws.Signatures[0].Header.KeyID
	s.mu.Lock()
	var key *signingKey
	for _, k := range s.keys {
		if k.kid == kid {
			key = k
		}
	}
	s.mu.Unlock()
	if key == nil {
		return nil, fmt.Errorf("unknown key ID %q", kid)
	}
	payload, err := jws.Verify(key.priv.Public())
	if err != nil {
		return nil, fmt.Errorf("bad signature: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if iss, _ := claims["iss"].(string); iss != issuer {
		return nil, fmt.Errorf("issuer %q is not %q", iss, issuer)
	}
	return claims, nil
}
