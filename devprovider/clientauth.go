package devprovider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// AuthPrivateKeyJWT is the client authentication with a JWT signed by the
// client's key (RFC 7523, OpenID Connect Core §9), checked against
// [Client.PublicKey].
const AuthPrivateKeyJWT = "private_key_jwt"

// clientAssertionType is the client_assertion_type of private_key_jwt.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLifetime bounds how far in the future an assertion's exp
// may be: an assertion is made for one request.
const maxAssertionLifetime = 5 * time.Minute

// assertionLeeway is the clock skew allowed on an assertion's iat.
const assertionLeeway = 30 * time.Second

// checkPublicKey checks a private_key_jwt client's key: RSA of at least
// 2048 bits (RS256) or ECDSA on P-256 (ES256).
func checkPublicKey(pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return errors.New("an RSA PublicKey must have 2048 bits or more")
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return errors.New("an ECDSA PublicKey must be on P-256")
		}
	case nil:
		return errors.New("private_key_jwt needs a PublicKey")
	default:
		return fmt.Errorf("PublicKey of type %T: use *rsa.PublicKey or *ecdsa.PublicKey", pub)
	}
	return nil
}

// authenticateClient authenticates the client of a request to the token,
// revocation or pushed authorization endpoint ep. The client must use the
// method it is registered with; at the revocation endpoint, when
// [Config.RevocationAuthMethods] is set, any of those methods it has
// credentials for instead. On failure it writes the error response and
// returns nil.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request, issuer string, ep Endpoint) *Client {
	form := r.PostForm
	basicID, basicSecret, hasBasic := r.BasicAuth()
	_, hasPostSecret := form["client_secret"]
	_, hasAssertion := form["client_assertion"]
	var n int
	for _, has := range []bool{hasBasic, hasPostSecret, hasAssertion} {
		if has {
			n++
		}
	}
	if n > 1 {
		oauthError(w, http.StatusBadRequest, "invalid_request", "more than one client authentication method")
		return nil
	}
	var id, secret, method string
	switch {
	case hasBasic:
		// RFC 6749 §2.3.1: the credentials are form-encoded before Basic encoding.
		id, secret, method = unescape(basicID), unescape(basicSecret), AuthSecretBasic
		if cid := form.Get("client_id"); cid != "" && cid != id {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "client_id does not match the authenticated client")
			return nil
		}
	case hasPostSecret:
		id, secret, method = form.Get("client_id"), form.Get("client_secret"), AuthSecretPost
	case hasAssertion:
		id, method = assertionIssuer(form.Get("client_assertion")), AuthPrivateKeyJWT
		if cid := form.Get("client_id"); cid != "" && cid != id {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "client_id does not match the assertion")
			return nil
		}
	default:
		id, method = form.Get("client_id"), AuthNone
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return nil
	}
	if allowed := s.allowedMethods(c, ep); !slices.Contains(allowed, method) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", fmt.Sprintf("client must authenticate with one of %v", allowed))
		return nil
	}
	switch method {
	case AuthSecretBasic, AuthSecretPost:
		if c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "wrong client secret")
			return nil
		}
	case AuthPrivateKeyJWT:
		if err := s.checkAssertion(c, form.Get("client_assertion_type"), form.Get("client_assertion"), issuer, ep); err != nil {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "client assertion refused: "+err.Error())
			return nil
		}
	}
	return c
}

// allowedMethods are the methods c may authenticate with at ep.
func (s *Server) allowedMethods(c *Client, ep Endpoint) []string {
	if ep != Revocation || len(s.cfg.RevocationAuthMethods) == 0 {
		return []string{c.AuthMethod}
	}
	var out []string
	for _, m := range s.cfg.RevocationAuthMethods {
		switch {
		case m == c.AuthMethod,
			(m == AuthSecretBasic || m == AuthSecretPost) && c.Secret != "",
			m == AuthPrivateKeyJWT && c.PublicKey != nil,
			m == AuthNone:
			out = append(out, m)
		}
	}
	return out
}

// assertionIssuer returns the iss of a JWT without checking it, to find
// the client whose key checks it.
func assertionIssuer(raw string) string {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c) != nil {
		return ""
	}
	return c.Iss
}

// checkAssertion verifies a client assertion for c presented at ep: the
// type, the signature with c's key, iss and sub c's id, an aud that names
// this provider (its issuer, its token endpoint, or ep itself, as RFC 9126
// §2 asks of a pushed authorization endpoint), a short life, and a jti
// never seen before.
func (s *Server) checkAssertion(c *Client, typ, raw, issuer string, ep Endpoint) error {
	if typ != clientAssertionType {
		return errors.New("client_assertion_type must be " + clientAssertionType)
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return errors.New("not a JWS signed with RS256 or ES256")
	}
	payload, err := jws.Verify(c.PublicKey)
	if err != nil {
		return errors.New("bad signature")
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Jti string          `json:"jti"`
		Exp *int64          `json:"exp"`
		Iat *int64          `json:"iat"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return errors.New("claims are not a JSON object")
	}
	var aud []string
	if json.Unmarshal(claims.Aud, &aud) != nil {
		var one string
		if json.Unmarshal(claims.Aud, &one) == nil {
			aud = []string{one}
		}
	}
	now := s.now()
	switch {
	case claims.Iss != c.ID || claims.Sub != c.ID:
		return errors.New("iss and sub must be the client_id")
	case !slices.ContainsFunc(aud, func(a string) bool {
		return a == issuer || a == endpoint(issuer, Token) || a == endpoint(issuer, ep)
	}):
		return errors.New("aud does not name this provider")
	case claims.Exp == nil || !now.Before(time.Unix(*claims.Exp, 0)):
		return errors.New("expired or without exp")
	case time.Unix(*claims.Exp, 0).After(now.Add(maxAssertionLifetime)):
		return errors.New("exp is too far in the future")
	case claims.Iat != nil && time.Unix(*claims.Iat, 0).After(now.Add(assertionLeeway)):
		return errors.New("iat is in the future")
	case claims.Jti == "":
		return errors.New("no jti")
	}
	key := c.ID + "\x00" + claims.Jti
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, seen := s.assertions[key]; seen && now.Before(exp) {
		return errors.New("jti already used")
	}
	s.assertions[key] = time.Unix(*claims.Exp, 0)
	return nil
}
