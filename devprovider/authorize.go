package devprovider

import (
	"crypto/subtle"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// codeTTL is the lifetime of authorization codes.
const codeTTL = 60 * time.Second

// opSession is a browser's session at the provider.
type opSession struct {
	key      string // cookie value
	sid      string // sid claim, shared with relying parties
	username string
	authTime time.Time
	expires  time.Time
	clients  []string // clients that got a code in this session, in order
}

// authCode is an issued authorization code.
type authCode struct {
	clientID, redirectURI string
	challenge             string // S256 code_challenge, "" without PKCE
	nonce, scope          string
	username, sid         string
	authTime, expires     time.Time
	used                  bool
	grantID               string // set once redeemed
}

// authRequest is a validated authorization request.
type authRequest struct {
	client      *Client
	redirectURI string
	scope       string
	state       string
	nonce       string
	challenge   string
	method      string
	prompt      []string
	maxAge      int // -1 when absent
	loginHint   string
}

// authError is an authorization error. When redirect is false the
// redirect_uri cannot be trusted and the error is shown on a page.
type authError struct {
	redirect    bool
	code        string
	description string
}

var challengeRE = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// parseAuthRequest validates the authorization request parameters in form.
func (s *Server) parseAuthRequest(form url.Values) (*authRequest, *authError) {
	s.mu.Lock()
	c := s.clients[form.Get("client_id")]
	s.mu.Unlock()
	if c == nil {
		return nil, &authError{code: "invalid_client", description: "Unknown client_id."}
	}
	redirectURI := form.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		return nil, &authError{code: "invalid_request", description: "The redirect_uri is not registered for this client."}
	}
	req := &authRequest{
		client:      c,
		redirectURI: redirectURI,
		scope:       form.Get("scope"),
		state:       form.Get("state"),
		nonce:       form.Get("nonce"),
		challenge:   form.Get("code_challenge"),
		method:      form.Get("code_challenge_method"),
		prompt:      strings.Fields(form.Get("prompt")),
		maxAge:      -1,
		loginHint:   form.Get("login_hint"),
	}
	fail := func(code, desc string) (*authRequest, *authError) {
		return req, &authError{redirect: true, code: code, description: desc}
	}
	if rt := form.Get("response_type"); rt != "code" {
		return fail("unsupported_response_type", "response_type must be code")
	}
	if !slices.Contains(strings.Fields(req.scope), "openid") {
		return fail("invalid_scope", "scope must contain openid")
	}
	if form.Has("request") || form.Has("request_uri") {
		return fail("request_not_supported", "request objects are not supported")
	}
	switch {
	case req.challenge == "" && req.method != "":
		return fail("invalid_request", "code_challenge_method without code_challenge")
	case req.challenge == "" && c.AuthMethod == AuthNone:
		return fail("invalid_request", "a public client must use PKCE (code_challenge with S256)")
	case req.challenge != "" && req.method != "S256":
		return fail("invalid_request", "code_challenge_method must be S256")
	case req.challenge != "" && !challengeRE.MatchString(req.challenge):
		return fail("invalid_request", "malformed code_challenge")
	}
	if slices.Contains(req.prompt, "none") && len(req.prompt) > 1 {
		return fail("invalid_request", "prompt=none cannot be combined with other values")
	}
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fail("invalid_request", "max_age must be a non-negative integer")
		}
		req.maxAge = n
	}
	return req, nil
}

// redirectError sends the browser back to the client with an error.
func redirectError(w http.ResponseWriter, r *http.Request, issuer string, req *authRequest, e *authError) {
	params := url.Values{"error": {e.code}, "error_description": {e.description}, "iss": {issuer}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	http.Redirect(w, r, withParams(req.redirectURI, params), http.StatusFound)
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request, issuer string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	r.ParseForm()
	form, aerr := s.authorizationForm(r.Form)
	if aerr != nil {
		s.renderError(w, http.StatusBadRequest, aerr.description)
		return
	}
	req, aerr := s.parseAuthRequest(form)
	if aerr != nil {
		if !aerr.redirect {
			s.renderError(w, http.StatusBadRequest, aerr.description)
			return
		}
		redirectError(w, r, issuer, req, aerr)
		return
	}
	sess := s.sessionFromCookie(r)
	if sess != nil && !slices.Contains(req.prompt, "login") && (req.maxAge < 0 || !s.now().After(
		s.authTime(sess).Add(time.Duration(req.maxAge)*time.Second))) {
		s.finishAuthorize(w, r, issuer, req, sess, http.StatusFound)
		return
	}
	if slices.Contains(req.prompt, "none") {
		redirectError(w, r, issuer, req, &authError{code: "login_required", description: "no provider session"})
		return
	}
	if s.cfg.AutoLogin != "" {
		sess := s.signIn(w, r, s.cfg.AutoLogin)
		s.finishAuthorize(w, r, issuer, req, sess, http.StatusFound)
		return
	}
	s.renderLogin(w, http.StatusOK, form, req, "")
}

// handleLogin checks the login form, signs the user in and completes the
// authorization request the form carries.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, issuer string) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	req, aerr := s.parseAuthRequest(r.PostForm)
	if aerr != nil {
		if !aerr.redirect {
			s.renderError(w, http.StatusBadRequest, aerr.description)
			return
		}
		redirectError(w, r, issuer, req, aerr)
		return
	}
	username := r.PostForm.Get("username")
	s.mu.Lock()
	u := s.users[username]
	s.mu.Unlock()
	if u == nil || subtle.ConstantTimeCompare([]byte(u.password), []byte(r.PostForm.Get("password"))) != 1 {
		s.log.Info("devprovider: failed sign-in", "username", username)
		s.renderLogin(w, http.StatusUnauthorized, r.PostForm, req, "Wrong username or password.")
		return
	}
	sess := s.signIn(w, r, username)
	s.finishAuthorize(w, r, issuer, req, sess, http.StatusSeeOther)
}

// sessionFromCookie returns the live provider session of the browser, or nil.
func (s *Server) sessionFromCookie(r *http.Request) *opSession {
	c, err := r.Cookie(s.SessionCookieName())
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[c.Value]
	if sess == nil || !s.now().Before(sess.expires) {
		return nil
	}
	return sess
}

// authTime returns when the user of sess last signed in.
func (s *Server) authTime(sess *opSession) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sess.authTime
}

// signIn makes username signed in at the provider in this browser. The
// browser's session is kept (with a new auth_time) when it is the same
// user's, and ended otherwise.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, username string) *opSession {
	now := s.now()
	old := s.sessionFromCookie(r)
	s.mu.Lock()
	if old != nil && old.username == username {
		old.authTime = now
		old.expires = now.Add(s.cfg.SessionTTL)
		s.mu.Unlock()
		http.SetCookie(w, s.sessionCookie(old.key, int(s.cfg.SessionTTL/time.Second)))
		s.log.Info("devprovider: signed in again", "username", username)
		return old
	}
	s.mu.Unlock()
	if old != nil {
		s.endSessions(r.Context(), []*opSession{old}, "")
	}
	sess := &opSession{
		key:      randomString(32),
		sid:      randomString(16),
		username: username,
		authTime: now,
		expires:  now.Add(s.cfg.SessionTTL),
	}
	s.mu.Lock()
	s.sweep(now)
	s.sessions[sess.key] = sess
	s.mu.Unlock()
	http.SetCookie(w, s.sessionCookie(sess.key, int(s.cfg.SessionTTL/time.Second)))
	s.log.Info("devprovider: signed in", "username", username)
	return sess
}

// sessionCookie returns the provider session cookie, which lives maxAge
// seconds; -1 deletes it.
func (s *Server) sessionCookie(value string, maxAge int) *http.Cookie {
	issuer := s.Issuer()
	u, _ := url.Parse(issuer)
	path := strings.TrimSuffix(u.Path, "/")
	if path == "" {
		path = "/"
	}
	return &http.Cookie{
		Name:     s.SessionCookieName(),
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   u.Scheme == "https",
		SameSite: http.SameSiteLaxMode,
	}
}

// finishAuthorize issues a code for req in sess and redirects to the client.
func (s *Server) finishAuthorize(w http.ResponseWriter, r *http.Request, issuer string, req *authRequest, sess *opSession, status int) {
	code := randomString(32)
	now := s.now()
	s.mu.Lock()
	s.sweep(now)
	if !slices.Contains(sess.clients, req.client.ID) {
		sess.clients = append(sess.clients, req.client.ID)
	}
	s.codes[code] = &authCode{
		clientID:    req.client.ID,
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		nonce:       req.nonce,
		scope:       req.scope,
		username:    sess.username,
		sid:         sess.sid,
		authTime:    sess.authTime,
		expires:     now.Add(codeTTL),
	}
	s.mu.Unlock()
	params := url.Values{"code": {code}, "iss": {issuer}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, withParams(req.redirectURI, params), status)
}

// sweep drops expired codes, sessions and tokens, at most every 10 seconds.
// The caller holds s.mu.
func (s *Server) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < 10*time.Second && !now.Before(s.lastSweep) {
		return
	}
	s.lastSweep = now
	maps.DeleteFunc(s.codes, func(_ string, c *authCode) bool { return !now.Before(c.expires) })
	maps.DeleteFunc(s.sessions, func(_ string, o *opSession) bool { return !now.Before(o.expires) })
	maps.DeleteFunc(s.accessTokens, func(_ string, t *accessToken) bool { return !now.Before(t.expires) })
	maps.DeleteFunc(s.refreshTokens, func(_ string, t *refreshToken) bool { return !now.Before(t.expires) })
	maps.DeleteFunc(s.grants, func(_ string, g *grant) bool { return !now.Before(g.expires) })
	maps.DeleteFunc(s.pushed, func(_ string, p *pushedRequest) bool { return !now.Before(p.expires) })
	maps.DeleteFunc(s.assertions, func(_ string, exp time.Time) bool { return !now.Before(exp) })
}
