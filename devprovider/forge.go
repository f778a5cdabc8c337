package devprovider

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// SignIDToken signs claims, exactly as given, with the current signing key:
// RS256, with the key's kid and typ JWT in the header. Use
// [Server.IDTokenClaims] for a valid set of claims to start from. It panics
// if the claims cannot be encoded as JSON.
func (s *Server) SignIDToken(claims map[string]any) string {
	return s.signJWT(claims, "JWT")
}

// IDTokenClaims returns the claims of a valid ID token for the user named
// username, issued now to the client clientID: iss, sub, aud, azp, iat, exp,
// auth_time and the user's claims, with no nonce and no sid. The map is new;
// edit it and sign it with [Server.SignIDToken] or [Server.Forge]. It panics
// if there is no such user or client.
func (s *Server) IDTokenClaims(clientID, username string) map[string]any {
	s.mu.Lock()
	c := s.clients[clientID]
	u := s.users[username]
	issuer := s.issuer
	var userClaims map[string]any
	if u != nil {
		userClaims = copyClaims(u.claims)
	}
	s.mu.Unlock()
	if c == nil {
		panic(fmt.Sprintf("devprovider: IDTokenClaims: unknown client %q", clientID))
	}
	if u == nil {
		panic(fmt.Sprintf("devprovider: IDTokenClaims: unknown user %q", username))
	}
	now := s.now()
	return s.idTokenClaims(issuer, c, u.subject, userClaims, idTokenFields{authTime: now}, now)
}

// Forgery is a way to make a token that a relying party must reject; see
// [Server.Forge].
type Forgery int

const (
	// ForgeNone makes an unsigned token: alg "none", empty signature.
	ForgeNone Forgery = iota + 1
	// ForgeHS256PublicKey signs with HS256, using the PEM encoding of the
	// current RSA public key as the HMAC secret, and the current kid: the
	// algorithm confusion attack.
	ForgeHS256PublicKey
	// ForgeUnknownKey signs with RS256 and a key that the JWKS does not
	// publish, under a kid it does not know.
	ForgeUnknownKey
)

// Forge returns a token with claims that a relying party must reject
// because of how it is signed. It panics on an unknown Forgery.
func (s *Server) Forge(claims map[string]any, how Forgery) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("devprovider: Forge: encoding claims: %v", err))
	}
	switch how {
	case ForgeNone:
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		return header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	case ForgeHS256PublicKey:
		key := s.signingKey()
		der, err := x509.MarshalPKIXPublicKey(key.priv.Public())
		if err != nil {
			panic(fmt.Sprintf("devprovider: Forge: %v", err))
		}
		secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		signer, err := jose.NewSigner(
			jose.SigningKey{Algorithm: jose.HS256, Key: secret},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.kid),
		)
		if err != nil {
			panic(fmt.Sprintf("devprovider: Forge: %v", err))
		}
		jws, err := signer.Sign(payload)
		if err != nil {
			panic(fmt.Sprintf("devprovider: Forge: %v", err))
		}
		tok, err := jws.CompactSerialize()
		if err != nil {
			panic(fmt.Sprintf("devprovider: Forge: %v", err))
		}
		return tok
	case ForgeUnknownKey:
		s.mu.Lock()
		stray := s.strayKey
		s.mu.Unlock()
		if stray == nil {
			k, err := newSigningKey()
			if err != nil {
				panic(err.Error())
			}
			s.mu.Lock()
			if s.strayKey == nil {
				s.strayKey = k
			}
			stray = s.strayKey
			s.mu.Unlock()
		}
		tok, err := stray.sign(claims, "JWT")
		if err != nil {
			panic(err.Error())
		}
		return tok
	default:
		panic(fmt.Sprintf("devprovider: Forge: unknown Forgery %d", how))
	}
}

// LogoutToken returns a valid back-channel logout token for the client
// clientID (OpenID Connect Back-Channel Logout 1.0 §2.4): iss, aud, iat, exp
// (2 minutes later), a fresh jti, the back-channel logout event, and sub and
// sid unless they are empty, signed like ID tokens with typ logout+jwt. The
// aud claim is an array if the client is registered with AudienceArray.
// edit, when not nil, may change the claims before signing, to delete a
// claim or add a nonce, for example. It panics on an unknown client.
func (s *Server) LogoutToken(clientID, subject, sid string, edit func(claims map[string]any)) string {
	s.mu.Lock()
	c := s.clients[clientID]
	issuer := s.issuer
	s.mu.Unlock()
	if c == nil {
		panic(fmt.Sprintf("devprovider: LogoutToken: unknown client %q", clientID))
	}
	claims := s.logoutTokenClaims(issuer, c, subject, sid)
	if edit != nil {
		edit(claims)
	}
	return s.signJWT(claims, "logout+jwt")
}

const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

func (s *Server) logoutTokenClaims(issuer string, c *Client, subject, sid string) map[string]any {
	now := s.now()
	claims := map[string]any{
		"iss":    issuer,
		"aud":    audience(c),
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    randomString(16),
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
	if subject != "" {
		claims["sub"] = subject
	}
	if sid != "" {
		claims["sid"] = sid
	}
	return claims
}

func audience(c *Client) any {
	if c.AudienceArray {
		return []string{c.ID}
	}
	return c.ID
}

// audienceOf returns the aud claim of claims as a list.
func audienceOf(claims map[string]any) []string {
	switch aud := claims["aud"].(type) {
	case string:
		return []string{aud}
	case []any:
		var out []string
		for _, a := range aud {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return slices.Clip(out)
	}
	return nil
}
