package devprovider

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Client authentication methods at the token and revocation endpoints, as
// named in OpenID Connect Core §9 and RFC 6749 §2.3.
const (
	AuthSecretBasic = "client_secret_basic"
	AuthSecretPost  = "client_secret_post"
	AuthNone        = "none"
)

// Config configures a [Server]. The zero value of every field means its
// documented default; [New] copies the Config and never changes it.
type Config struct {
	// Addr is the address [Start] listens on. It must be a loopback address.
	// The default is "127.0.0.1:0", a free port.
	Addr string

	// Issuer is the issuer identifier, such as "http://127.0.0.1:8081" or
	// "http://127.0.0.1:8081/op/". It is used verbatim in tokens, in discovery
	// and in the iss authorization response parameter, so relying parties must
	// compare it exactly; a trailing slash is kept. Endpoints live under it
	// ("/authorize", "/token", ...), and when it has a path, ServeHTTP expects
	// that path as a prefix of the requests it serves. With [Start], the default
	// is the listener's base URL; with [New], call [Server.SetIssuer].
	Issuer string

	// Clients are the registered relying parties. More may be added with
	// [Server.AddClient].
	Clients []Client

	// Users are the accounts that can sign in. When empty, there is one user:
	// username "alice", password "alice", subject "alice", with the claims
	// email "alice@example.com", email_verified true, name "Alice Liddell",
	// given_name "Alice" and family_name "Liddell".
	Users []User

	// AccessTokenTTL is the lifetime of access tokens. The default is 5 minutes.
	AccessTokenTTL time.Duration

	// IDTokenTTL is the lifetime of ID tokens. The default is 5 minutes.
	IDTokenTTL time.Duration

	// RefreshTokenTTL is the lifetime of refresh tokens. The default is 24 hours.
	RefreshTokenTTL time.Duration

	// SessionTTL is the lifetime of a provider session (the browser's session
	// at the provider, in a cookie), counted from sign-in. The default is
	// 1 hour.
	SessionTTL time.Duration

	// RequirePushedAuthorization makes the authorization endpoint take only
	// requests pushed first to the pushed authorization request endpoint
	// ([PushedAuthorization], RFC 9126), and discovery say so
	// (require_pushed_authorization_requests). That endpoint is always
	// served and advertised; its request_uri values are good for one use
	// within 60 seconds.
	RequirePushedAuthorization bool

	// RevocationAuthMethods, when set, are the client authentication
	// methods of the revocation endpoint, advertised in discovery
	// (revocation_endpoint_auth_methods_supported): there a client may use
	// any of them it has credentials for (a Secret, a PublicKey), and no
	// other. By default each client uses its AuthMethod there too.
	RevocationAuthMethods []string

	// RefreshTokens says when the token endpoint returns a refresh token.
	// The default, [RefreshOfflineAccess], issues one only when the scope
	// holds offline_access.
	RefreshTokens RefreshPolicy

	// AutoLogin, when set, is the username that /authorize signs in without
	// showing the login page, for tests without a browser. A request with
	// prompt=none and no provider session still fails with login_required.
	AutoLogin string

	// HTTPClient sends back-channel logout requests. The default is a client
	// with a 5 second timeout that does not follow redirects.
	HTTPClient *http.Client

	// Logger receives one record per sign-in, logout and back-channel
	// delivery, and debug records for requests. Nil means [slog.Default].
	// Tokens, codes and passwords are never logged.
	Logger *slog.Logger

	// Now is the clock used for token times and expiry. It must be safe for
	// concurrent use. Nil means [time.Now].
	Now func() time.Time
}

// RefreshPolicy says when refresh tokens are issued; see [Config.RefreshTokens].
type RefreshPolicy int

const (
	// RefreshOfflineAccess issues a refresh token when the granted scope holds
	// offline_access, as OpenID Connect Core §11 describes.
	RefreshOfflineAccess RefreshPolicy = iota
	// RefreshAlways issues a refresh token on every code exchange.
	RefreshAlways
	// RefreshNever never issues refresh tokens.
	RefreshNever
)

// Client is a registered relying party.
type Client struct {
	// ID is the client_id. Required and unique.
	ID string

	// Secret is the client secret. Required unless AuthMethod is "none".
	Secret string

	// AuthMethod is how the client authenticates at the token, revocation
	// and pushed authorization endpoints: [AuthSecretBasic] (the default),
	// [AuthSecretPost], [AuthPrivateKeyJWT] or [AuthNone] (a public client,
	// which must use PKCE). A client that uses another method is rejected
	// with invalid_client; see also [Config.RevocationAuthMethods].
	AuthMethod string

	// PublicKey checks the assertions of a [AuthPrivateKeyJWT] client: an
	// *rsa.PublicKey of 2048 bits or more (RS256) or an *ecdsa.PublicKey
	// on P-256 (ES256). An assertion must have iss and sub the client's
	// ID, an aud naming the issuer, the token endpoint or the endpoint it
	// is sent to, an exp at most 5 minutes ahead, and a jti never used
	// before.
	PublicKey crypto.PublicKey

	// RedirectURIs are the registered redirect_uri values, compared exactly.
	// At least one is required.
	RedirectURIs []string

	// PostLogoutRedirectURIs are the registered post_logout_redirect_uri
	// values, compared exactly.
	PostLogoutRedirectURIs []string

	// BackchannelLogoutURI, when set, receives logout tokens (OpenID Connect
	// Back-Channel Logout 1.0).
	BackchannelLogoutURI string

	// FrontchannelLogoutURI, when set, is loaded in an iframe with iss and sid
	// parameters when the provider session ends in the browser (OpenID
	// Connect Front-Channel Logout 1.0). Its scheme, host and port must be
	// those of one of the RedirectURIs.
	FrontchannelLogoutURI string

	// AudienceArray makes the aud claim of ID and logout tokens a JSON array,
	// as some providers do, instead of a string. The azp claim is always set.
	AudienceArray bool
}

// User is an account that can sign in.
type User struct {
	// Username is the login name. Required and unique.
	Username string
	// Password is the password. The default is the username.
	Password string
	// Subject is the sub claim. The default is the username.
	Subject string
	// Claims are added to ID tokens and to the userinfo response. They never
	// replace the claims the provider sets itself (iss, sub, aud, exp, ...).
	Claims map[string]any
}

// Request is a request received by the provider, as recorded for
// [Server.Requests].
type Request struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path as received, the issuer's path included.
	Path string
	// Query is the parsed URL query.
	Query url.Values
	// Form is the parsed body of a form POST (url-encoded), nil otherwise.
	Form url.Values
	// Header is a copy of the request header.
	Header http.Header
	// Time is when the request arrived, by [Config.Now].
	Time time.Time
}

// maxRequests bounds the request log kept for [Server.Requests].
const maxRequests = 1000

// Server is a development OpenID provider. It is an [http.Handler]; create it
// with [New] or [Start]. Its methods are safe for concurrent use.
type Server struct {
	cfg        Config
	now        func() time.Time
	log        *slog.Logger
	httpClient *http.Client
	closed     chan struct{}
	closeOnce  sync.Once
	httpServer *http.Server // set by Start

	mu            sync.Mutex
	issuer        string
	clients       map[string]*Client
	users         map[string]*user
	keys          []*signingKey // keys[0] signs; the rest are still published
	strayKey      *signingKey   // never published, for ForgeUnknownKey
	sessions      map[string]*opSession
	codes         map[string]*authCode
	grants        map[string]*grant
	accessTokens  map[string]*accessToken
	refreshTokens map[string]*refreshToken
	pushed        map[string]*pushedRequest // by request_uri
	assertions    map[string]time.Time      // client id and jti of used assertions: their exp
	faults        map[Endpoint]Fault
	requests      []Request
	lastSweep     time.Time
}

type user struct {
	username, password, subject string
	claims                      map[string]any
}

// New validates cfg and returns a Server with a fresh RSA-2048 signing key.
// The Server serves nothing until it is mounted, for example with
// [net/http/httptest.NewServer], and its issuer is set with
// [Server.SetIssuer] unless [Config.Issuer] is set.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = 5 * time.Minute
	}
	if cfg.IDTokenTTL == 0 {
		cfg.IDTokenTTL = 5 * time.Minute
	}
	if cfg.RefreshTokenTTL == 0 {
		cfg.RefreshTokenTTL = 24 * time.Hour
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = time.Hour
	}
	for _, d := range []time.Duration{cfg.AccessTokenTTL, cfg.IDTokenTTL, cfg.RefreshTokenTTL, cfg.SessionTTL} {
		if d < 0 {
			return nil, errors.New("devprovider: negative lifetime in Config")
		}
	}
	if cfg.RefreshTokens < RefreshOfflineAccess || cfg.RefreshTokens > RefreshNever {
		return nil, fmt.Errorf("devprovider: unknown RefreshPolicy %d", cfg.RefreshTokens)
	}
	s := &Server{
		cfg:           cfg,
		now:           cfg.Now,
		log:           cfg.Logger,
		httpClient:    cfg.HTTPClient,
		closed:        make(chan struct{}),
		clients:       make(map[string]*Client),
		users:         make(map[string]*user),
		sessions:      make(map[string]*opSession),
		codes:         make(map[string]*authCode),
		grants:        make(map[string]*grant),
		accessTokens:  make(map[string]*accessToken),
		refreshTokens: make(map[string]*refreshToken),
		pushed:        make(map[string]*pushedRequest),
		assertions:    make(map[string]time.Time),
		faults:        make(map[Endpoint]Fault),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{
			Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if cfg.Issuer != "" {
		if err := validateIssuer(cfg.Issuer); err != nil {
			return nil, err
		}
		s.issuer = cfg.Issuer
	}
	users := cfg.Users
	if len(users) == 0 {
		users = []User{defaultUser()}
	}
	for _, u := range users {
		if u.Username == "" {
			return nil, errors.New("devprovider: user without Username")
		}
		if _, dup := s.users[u.Username]; dup {
			return nil, fmt.Errorf("devprovider: duplicate user %q", u.Username)
		}
		if _, err := json.Marshal(u.Claims); err != nil {
			return nil, fmt.Errorf("devprovider: user %q: claims: %w", u.Username, err)
		}
		nu := &user{username: u.Username, password: u.Password, subject: u.Subject, claims: copyClaims(u.Claims)}
		if nu.password == "" {
			nu.password = u.Username
		}
		if nu.subject == "" {
			nu.subject = u.Username
		}
		s.users[u.Username] = nu
	}
	if cfg.AutoLogin != "" && s.users[cfg.AutoLogin] == nil {
		return nil, fmt.Errorf("devprovider: AutoLogin user %q is not in Users", cfg.AutoLogin)
	}
	for _, c := range cfg.Clients {
		if err := s.addClient(c); err != nil {
			return nil, err
		}
	}
	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	s.keys = []*signingKey{key}
	return s, nil
}

func defaultUser() User {
	return User{
		Username: "alice",
		Password: "alice",
		Subject:  "alice",
		Claims: map[string]any{
			"email":          "alice@example.com",
			"email_verified": true,
			"name":           "Alice Liddell",
			"given_name":     "Alice",
			"family_name":    "Liddell",
		},
	}
}

// Start is [New] followed by listening on [Config.Addr], which must be a
// loopback address, and serving in a new goroutine until [Server.Close].
// Unless [Config.Issuer] is set, the issuer is the listener's base URL, such
// as "http://127.0.0.1:41234".
func Start(cfg Config) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkLoopback(s.cfg.Addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("devprovider: %w", err)
	}
	if cfg.Issuer == "" {
		s.issuer = "http://" + ln.Addr().String()
	}
	s.httpServer = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go s.httpServer.Serve(ln)
	return s, nil
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("devprovider: Addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("devprovider: Addr %q is not a loopback address", addr)
}

func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("devprovider: issuer %q is not an http(s) URL without query or fragment", issuer)
	}
	return nil
}

// SetIssuer sets the issuer identifier, typically to the URL of the
// [net/http/httptest.Server] serving s. It must be called before s serves
// traffic unless [Config.Issuer] was set or s came from [Start]. It panics if
// issuer is not an http(s) URL.
func (s *Server) SetIssuer(issuer string) {
	if err := validateIssuer(issuer); err != nil {
		panic(err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuer = issuer
}

// Issuer returns the issuer identifier, "" while it is not set.
func (s *Server) Issuer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issuer
}

// endpoint returns the URL of the endpoint at path under issuer.
func endpoint(issuer string, path Endpoint) string {
	return strings.TrimSuffix(issuer, "/") + string(path)
}

// SessionCookieName returns the name of the provider's session cookie. It
// depends on the issuer, so that providers on the same host (cookies ignore
// ports) keep apart.
func (s *Server) SessionCookieName() string {
	sum := sha256.Sum256([]byte(s.Issuer()))
	return "devprovider_" + hex.EncodeToString(sum[:4])
}

// AddClient registers one more client. It fails when c is invalid or its ID
// is taken.
func (s *Server) AddClient(c Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addClient(c)
}

func (s *Server) addClient(c Client) error {
	if c.ID == "" {
		return errors.New("devprovider: client without ID")
	}
	if _, dup := s.clients[c.ID]; dup {
		return fmt.Errorf("devprovider: duplicate client %q", c.ID)
	}
	switch c.AuthMethod {
	case "":
		c.AuthMethod = AuthSecretBasic
		fallthrough
	case AuthSecretBasic, AuthSecretPost:
		if c.Secret == "" {
			return fmt.Errorf("devprovider: client %q: %s needs a Secret", c.ID, c.AuthMethod)
		}
	case AuthPrivateKeyJWT:
		if err := checkPublicKey(c.PublicKey); err != nil {
			return fmt.Errorf("devprovider: client %q: %w", c.ID, err)
		}
	case AuthNone:
		if c.Secret != "" {
			return fmt.Errorf("devprovider: client %q: a public client has no Secret", c.ID)
		}
	default:
		return fmt.Errorf("devprovider: client %q: unknown AuthMethod %q", c.ID, c.AuthMethod)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("devprovider: client %q has no RedirectURIs", c.ID)
	}
	uris := slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs)
	if c.BackchannelLogoutURI != "" {
		uris = append(uris, c.BackchannelLogoutURI)
	}
	for _, raw := range uris {
		if _, err := parseClientURI(raw); err != nil {
			return fmt.Errorf("devprovider: client %q: %w", c.ID, err)
		}
	}
	if c.FrontchannelLogoutURI != "" {
		fu, err := parseClientURI(c.FrontchannelLogoutURI)
		if err != nil {
			return fmt.Errorf("devprovider: client %q: %w", c.ID, err)
		}
		if !slices.ContainsFunc(c.RedirectURIs, func(raw string) bool {
			ru, _ := url.Parse(raw)
			return ru.Scheme == fu.Scheme && ru.Host == fu.Host
		}) {
			return fmt.Errorf("devprovider: client %q: FrontchannelLogoutURI must share scheme, host and port with a redirect URI", c.ID)
		}
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	s.clients[c.ID] = &c
	return nil
}

func parseClientURI(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("URI %q is not absolute or has a fragment", raw)
	}
	return u, nil
}

// SetUserClaims merges claims into the claims of the user named username:
// later ID tokens and userinfo responses carry them. A nil value removes a
// claim. It panics if there is no such user.
func (s *Server) SetUserClaims(username string, claims map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[username]
	if u == nil {
		panic(fmt.Sprintf("devprovider: SetUserClaims: unknown user %q", username))
	}
	if u.claims == nil {
		u.claims = make(map[string]any)
	}
	for k, v := range claims {
		if v == nil {
			delete(u.claims, k)
		} else {
			u.claims[k] = v
		}
	}
}

func copyClaims(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Requests returns a copy of the requests received, oldest first, the
// login form's password included. Only the last 1000 are kept.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Close stops the server started by [Start], cutting open connections, and
// ends the delays of injected faults. It does not close an
// [net/http/httptest.Server] that serves s.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.httpServer != nil {
			err = s.httpServer.Close()
		}
	})
	return err
}

// ServeHTTP serves the provider's endpoints under the issuer's path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	issuer := s.Issuer()
	if issuer == "" {
		http.Error(w, "devprovider: issuer not set; call SetIssuer", http.StatusInternalServerError)
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			s.record(r)
			http.Error(w, "devprovider: bad form body", http.StatusBadRequest)
			return
		}
	}
	s.record(r)

	path := r.URL.Path
	if u, _ := url.Parse(issuer); u != nil {
		path = strings.TrimPrefix(path, strings.TrimSuffix(u.Path, "/"))
	}
	ep := Endpoint(path)
	if !s.applyFault(w, r, ep) {
		return
	}
	s.log.Debug("devprovider: request", "method", r.Method, "path", r.URL.Path)
	switch ep {
	case Discovery:
		s.handleDiscovery(w, r, issuer)
	case JWKS:
		s.handleJWKS(w, r)
	case Authorize:
		s.handleAuthorize(w, r, issuer)
	case loginPath:
		s.handleLogin(w, r, issuer)
	case Token:
		s.handleToken(w, r, issuer)
	case UserInfo:
		s.handleUserInfo(w, r)
	case EndSession:
		s.handleEndSession(w, r, issuer)
	case Revocation:
		s.handleRevoke(w, r, issuer)
	case PushedAuthorization:
		s.handlePushedAuthorization(w, r, issuer)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) record(r *http.Request) {
	rec := Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Time:   s.now(),
	}
	if len(r.PostForm) > 0 {
		rec.Form = cloneValues(r.PostForm)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxRequests {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRequests+1)
	}
	s.requests = append(s.requests, rec)
}

func cloneValues(v url.Values) url.Values {
	return url.Values(http.Header(v).Clone())
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request, issuer string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET")
		return
	}
	s.mu.Lock()
	claims := []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "sid", "at_hash"}
	for _, u := range s.users {
		for k := range u.claims {
			if !slices.Contains(claims, k) {
				claims = append(claims, k)
			}
		}
	}
	s.mu.Unlock()
	slices.Sort(claims)
	authMethods := []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT, AuthNone}
	revocationMethods := authMethods
	if len(s.cfg.RevocationAuthMethods) > 0 {
		revocationMethods = s.cfg.RevocationAuthMethods
	}
	doc := map[string]any{
		"issuer":                                           issuer,
		"authorization_endpoint":                           endpoint(issuer, Authorize),
		"token_endpoint":                                   endpoint(issuer, Token),
		"userinfo_endpoint":                                endpoint(issuer, UserInfo),
		"jwks_uri":                                         endpoint(issuer, JWKS),
		"end_session_endpoint":                             endpoint(issuer, EndSession),
		"revocation_endpoint":                              endpoint(issuer, Revocation),
		"response_types_supported":                         []string{"code"},
		"response_modes_supported":                         []string{"query"},
		"grant_types_supported":                            []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                          []string{"public"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"id_token_signing_alg_values_supported":            []string{"RS256"},
		"token_endpoint_auth_methods_supported":            authMethods,
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "ES256"},
		"revocation_endpoint_auth_methods_supported":       revocationMethods,
		"pushed_authorization_request_endpoint":            endpoint(issuer, PushedAuthorization),
		"require_pushed_authorization_requests":            s.cfg.RequirePushedAuthorization,
		"scopes_supported":                                 []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                                 claims,
		"prompt_values_supported":                          []string{"none", "login"},
		"authorization_response_iss_parameter_supported":   true,
		"backchannel_logout_supported":                     true,
		"backchannel_logout_session_supported":             true,
		"frontchannel_logout_supported":                    true,
		"frontchannel_logout_session_supported":            true,
	}
	writeJSON(w, http.StatusOK, doc)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "devprovider: encoding JSON", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// withParams returns raw with params added to its query, keeping the
// parameters it already has.
func withParams(raw string, params url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
