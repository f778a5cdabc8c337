package devprovider

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// grant is what one authorization code was exchanged for: the tokens
// refreshed from it share it, and revoking it revokes them all.
type grant struct {
	id, clientID, username, sid, scope string
	authTime                           time.Time
	offline                            bool      // scope has offline_access: survives the provider session
	expires                            time.Time // when the last of its tokens expires
}

type accessToken struct {
	grantID string
	scope   string
	expires time.Time
}

type refreshToken struct {
	grantID string
	expires time.Time
	rotated bool // already exchanged: a second use revokes the grant
}

// oauthError writes an RFC 6749 §5.2 error response.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="devprovider"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, issuer string) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	c := s.authenticateClient(w, r, issuer, Token)
	if c == nil {
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.exchangeCode(w, r, issuer, c)
	case "refresh_token":
		s.refresh(w, r, issuer, c)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "missing grant_type")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

var verifierRE = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

func (s *Server) exchangeCode(w http.ResponseWriter, r *http.Request, issuer string, c *Client) {
	form := r.PostForm
	now := s.now()
	s.mu.Lock()
	s.sweep(now)
	ac := s.codes[form.Get("code")]
	fail := func(desc string) {
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", desc)
	}
	switch {
	case ac == nil || !now.Before(ac.expires):
		fail("unknown or expired code")
		return
	case ac.clientID != c.ID:
		fail("code was issued to another client")
		return
	case ac.used:
		// RFC 6749 §4.1.2: a code used twice revokes what it gave.
		if ac.grantID != "" {
			s.revokeGrant(ac.grantID)
			s.log.Info("devprovider: code replayed; tokens revoked", "client", c.ID)
		}
		fail("code was already used")
		return
	}
	ac.used = true
	verifier := form.Get("code_verifier")
	switch {
	case form.Get("redirect_uri") != ac.redirectURI:
		fail("redirect_uri does not match the authorization request")
		return
	case ac.challenge == "" && verifier != "":
		fail("code_verifier without code_challenge")
		return
	case ac.challenge != "" && verifier == "":
		fail("missing code_verifier")
		return
	case ac.challenge != "" && (!verifierRE.MatchString(verifier) || s256(verifier) != ac.challenge):
		fail("code_verifier does not match code_challenge")
		return
	}
	g := &grant{
		id:       randomString(16),
		clientID: c.ID,
		username: ac.username,
		sid:      ac.sid,
		scope:    ac.scope,
		authTime: ac.authTime,
		offline:  slices.Contains(strings.Fields(ac.scope), "offline_access"),
	}
	ac.grantID = g.id
	s.grants[g.id] = g
	withRefresh := s.cfg.RefreshTokens == RefreshAlways ||
		s.cfg.RefreshTokens == RefreshOfflineAccess && g.offline
	resp := s.issueTokens(now, g, g.scope, withRefresh)
	u := s.users[g.username]
	s.mu.Unlock()
	s.writeTokenResponse(w, issuer, c, u, g, resp, ac.nonce, now)
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request, issuer string, c *Client) {
	form := r.PostForm
	now := s.now()
	s.mu.Lock()
	s.sweep(now)
	rt := s.refreshTokens[form.Get("refresh_token")]
	var g *grant
	if rt != nil {
		g = s.grants[rt.grantID]
	}
	fail := func(code, desc string) {
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, code, desc)
	}
	switch {
	case rt == nil || g == nil || !now.Before(rt.expires):
		fail("invalid_grant", "unknown, expired or revoked refresh token")
		return
	case g.clientID != c.ID:
		fail("invalid_grant", "refresh token was issued to another client")
		return
	case rt.rotated:
		// A rotated refresh token used again was stolen or raced: revoke
		// the whole grant (OAuth 2.0 Security BCP §4.14.2).
		s.revokeGrant(g.id)
		s.log.Info("devprovider: rotated refresh token reused; tokens revoked", "client", c.ID)
		fail("invalid_grant", "refresh token was already used")
		return
	}
	scope := g.scope
	if req := form.Get("scope"); req != "" {
		granted := strings.Fields(g.scope)
		for _, sc := range strings.Fields(req) {
			if !slices.Contains(granted, sc) {
				fail("invalid_scope", "scope exceeds the original grant")
				return
			}
		}
		scope = req
	}
	rt.rotated = true
	resp := s.issueTokens(now, g, scope, true)
	u := s.users[g.username]
	s.mu.Unlock()
	s.writeTokenResponse(w, issuer, c, u, g, resp, "", now)
}

// tokenResponse holds the tokens of one token endpoint response.
type tokenResponse struct {
	accessToken, refreshToken, scope string
}

// issueTokens stores a new access token, and a refresh token if
// withRefresh, for g. The caller holds s.mu.
func (s *Server) issueTokens(now time.Time, g *grant, scope string, withRefresh bool) tokenResponse {
	resp := tokenResponse{accessToken: randomString(32), scope: scope}
	at := &accessToken{grantID: g.id, scope: scope, expires: now.Add(s.cfg.AccessTokenTTL)}
	s.accessTokens[resp.accessToken] = at
	g.expires = maxTime(g.expires, at.expires)
	if withRefresh {
		resp.refreshToken = randomString(32)
		rt := &refreshToken{grantID: g.id, expires: now.Add(s.cfg.RefreshTokenTTL)}
		s.refreshTokens[resp.refreshToken] = rt
		g.expires = maxTime(g.expires, rt.expires)
	}
	return resp
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *Server) writeTokenResponse(w http.ResponseWriter, issuer string, c *Client, u *user, g *grant, resp tokenResponse, nonce string, now time.Time) {
	s.mu.Lock()
	userClaims := copyClaims(u.claims)
	s.mu.Unlock()
	claims := s.idTokenClaims(issuer, c, u.subject, userClaims, idTokenFields{
		nonce:       nonce,
		sid:         g.sid,
		authTime:    g.authTime,
		accessToken: resp.accessToken,
	}, now)
	body := map[string]any{
		"access_token": resp.accessToken,
		"token_type":   "Bearer",
		"expires_in":   int(s.cfg.AccessTokenTTL / time.Second),
		"id_token":     s.SignIDToken(claims),
		"scope":        resp.scope,
	}
	if resp.refreshToken != "" {
		body["refresh_token"] = resp.refreshToken
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, body)
}

// idTokenFields are the per-authentication claims of an ID token.
type idTokenFields struct {
	nonce, sid  string
	authTime    time.Time
	accessToken string // for at_hash, when not empty
}

// idTokenClaims builds ID token claims. The provider's own claims win over
// the user's.
func (s *Server) idTokenClaims(issuer string, c *Client, subject string, userClaims map[string]any, f idTokenFields, now time.Time) map[string]any {
	claims := copyClaims(userClaims)
	if claims == nil {
		claims = make(map[string]any)
	}
	claims["iss"] = issuer
	claims["sub"] = subject
	claims["aud"] = audience(c)
	claims["azp"] = c.ID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(s.cfg.IDTokenTTL).Unix()
	claims["auth_time"] = f.authTime.Unix()
	for _, k := range []string{"nonce", "sid", "at_hash"} {
		delete(claims, k)
	}
	if f.nonce != "" {
		claims["nonce"] = f.nonce
	}
	if f.sid != "" {
		claims["sid"] = f.sid
	}
	if f.accessToken != "" {
		sum := sha256.Sum256([]byte(f.accessToken))
		claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	return claims
}

// revokeGrant deletes g and all its tokens. The caller holds s.mu.
func (s *Server) revokeGrant(id string) {
	delete(s.grants, id)
	for k, t := range s.accessTokens {
		if t.grantID == id {
			delete(s.accessTokens, k)
		}
	}
	for k, t := range s.refreshTokens {
		if t.grantID == id {
			delete(s.refreshTokens, k)
		}
	}
}

func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	bearer := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "invalid_token", http.StatusUnauthorized)
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		raw = r.PostForm.Get("access_token") // RFC 6750 §2.2
	}
	now := s.now()
	s.mu.Lock()
	at := s.accessTokens[strings.TrimSpace(raw)]
	var g *grant
	if at != nil {
		g = s.grants[at.grantID]
	}
	if at == nil || g == nil || !now.Before(at.expires) {
		s.mu.Unlock()
		bearer("unknown, expired or revoked access token")
		return
	}
	u := s.users[g.username]
	claims := copyClaims(u.claims)
	s.mu.Unlock()
	if claims == nil {
		claims = make(map[string]any)
	}
	claims["sub"] = u.subject
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, claims)
}

// handleRevoke implements RFC 7009. Revoking a refresh token revokes its
// grant: every access and refresh token issued from the same code.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request, issuer string) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	c := s.authenticateClient(w, r, issuer, Revocation)
	if c == nil {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "missing token")
		return
	}
	// The token_type_hint only orders the search (RFC 7009 §2.1); both
	// kinds are searched.
	s.mu.Lock()
	if rt := s.refreshTokens[tok]; rt != nil {
		if g := s.grants[rt.grantID]; g != nil && g.clientID == c.ID {
			s.revokeGrant(g.id)
		}
	} else if at := s.accessTokens[tok]; at != nil {
		if g := s.grants[at.grantID]; g != nil && g.clientID == c.ID {
			delete(s.accessTokens, tok)
		}
	}
	s.mu.Unlock()
	// Unknown tokens and tokens of other clients get 200 too (§2.2).
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
