package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/internal/cookiecodec"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// Middleware runs login and logout for an application and gives its
// handlers the current session. Create it with [New]; it is safe for
// concurrent use.
type Middleware struct {
	cfg       Config
	store     session.Store
	log       *slog.Logger
	providers map[string]*provider
	// order lists the providers as configured, for the login chooser.
	order []*provider

	secure       bool
	appOrigin    string
	loggedOutURL string
	routes       map[string]http.HandlerFunc

	// stateCodec protects the login flow and logout state cookies.
	stateCodec *cookiecodec.Codec
	usedStates *usedStates

	// hostHints remembers the other hosts requests came on; see checkHost.
	hostHints *hostHints

	// unmounted is set once Require has logged that Handler is missing.
	unmounted atomic.Bool

	// refreshes lets concurrent requests of one session share one refresh.
	refreshes flightGroup[refreshResult]
	// remembered holds the recent refreshes' results, and resultCodec
	// protects those shared through the Locker; see RefreshGrace.
	remembered  refreshMemory
	resultCodec *cookiecodec.Codec
}

// provider is a configured provider and what discovery found, resolved
// lazily: a provider that is down at start-up does not stop the
// application, and login retries it.
type provider struct {
	providers.Provider
	mu       sync.Mutex
	resolved *providers.Resolved
	failedAt time.Time
	err      error

	// refreshPausedUntil (Unix nanoseconds) holds refreshes back for a
	// moment after one failed.
	refreshPausedUntil atomic.Int64

	// callbackPath is the path of the provider's login callback under
	// PathPrefix; see callbackRoutes.
	callbackPath string
}

// retryAfter is how long a failed discovery is not retried, so that a
// provider that is down is not called on every login.
const retryAfter = 2 * time.Second

// New validates cfg and returns the middleware. It makes no network call:
// providers are discovered at the first login that needs them (or by
// [Middleware.CheckProviders]). It logs, once, one record per provider
// with the URLs to register at it: redirect_uri, post_logout_redirect_uri,
// backchannel_logout_uri and frontchannel_logout_uri.
func New(cfg Config) (*Middleware, error) {
	cfg.Providers = append([]providers.Provider(nil), cfg.Providers...)
	cfg.setDefaults()
	app, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if cfg.SessionInfo, err = sessionInfoDefaults(cfg.SessionInfo); err != nil {
		return nil, err
	}
	secure := app.Scheme == "https"
	if !secure && !loopback(app.Hostname()) {
		cfg.Logger.Warn("AppURL is plain http on a host that is not loopback: cookies are not Secure and travel in clear; use https",
			"event", "config", "app_url", cfg.AppURL)
	}
	store := cfg.Store
	if store == nil {
		store, err = session.NewCookieStore(session.CookieOptions{Secure: secure, Keys: cfg.Keys, Now: cfg.Now})
		if err != nil {
			return nil, fmt.Errorf("middleware: %w", err)
		}
	}
	stateCodec, err := newStateCodec(cfg.Keys, cfg.LoginTimeout)
	if err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	resultCodec, err := newResultCodec(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	origin := app.Scheme + "://" + app.Host
	m := &Middleware{
		cfg:          cfg,
		store:        store,
		log:          cfg.Logger,
		providers:    make(map[string]*provider, len(cfg.Providers)),
		secure:       secure,
		appOrigin:    origin,
		loggedOutURL: origin + cfg.PathPrefix + "/logged-out",
		stateCodec:   stateCodec,
		resultCodec:  resultCodec,
		usedStates:   newUsedStates(cfg.LoginTimeout),
		hostHints:    newHostHints(app.Scheme, app.Host),
	}
	for _, p := range cfg.Providers {
		rp := &provider{Provider: p}
		m.providers[p.Name] = rp
		m.order = append(m.order, rp)
	}
	m.routes = map[string]http.HandlerFunc{
		"/login":      m.login,
		"/logout":     m.logout,
		"/logged-out": m.loggedOut,

		"/backchannel-logout":  m.backchannelLogout,
		"/frontchannel-logout": m.frontchannelLogout,
	}
	if cfg.SessionInfo != nil {
		m.routes["/session"] = m.sessionInfo
	}
	callbacks, err := callbackRoutes(m.order, m.callback)
	if err != nil {
		return nil, err
	}
	maps.Copy(m.routes, callbacks)
	m.logRegistration()
	return m, nil
}

// loopback reports whether host names this machine: localhost, or a
// loopback address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newStateCodec returns the codec of the login flow and logout state
// cookies: securecookie's format, JSON inside, valid for maxAge, and at
// most 4096 bytes (securecookie's default).
func newStateCodec(keys []session.KeyPair, maxAge time.Duration) (*cookiecodec.Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	pairs := make([]cookiecodec.KeyPair, len(keys))
	for i, k := range keys {
		if len(k.HashKey) < 32 {
			return nil, fmt.Errorf("key pair %d: hash key must be at least 32 bytes", i)
		}
		pairs[i] = cookiecodec.KeyPair{HashKey: k.HashKey, BlockKey: k.BlockKey}
	}
	return cookiecodec.New(pairs, maxAge, 4096)
}

// encodeState returns the value of a login flow or logout state cookie
// named name carrying v.
func (m *Middleware) encodeState(name string, v any) (string, error) {
	return m.stateCodec.Encode(name, func([]byte) ([]byte, error) { return json.Marshal(v) })
}

// decodeState decodes a login flow or logout state cookie under any
// configured key.
func (m *Middleware) decodeState(name, value string, dst any) error {
	parts := [1]string{value}
	return m.stateCodec.Decode(name, parts[:], func(plain []byte) error { return json.Unmarshal(plain, dst) })
}

// Handler wraps next: requests to the middleware's routes (under
// PathPrefix) are answered by the middleware; every other request gets the
// current session, if any, in its context (see [SessionFromContext]) and
// goes on to next. Use [Middleware.Require] to protect routes.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = withRequestContext(r, m.cfg.Now)
		m.checkHost(r)
		if rest, ok := strings.CutPrefix(r.URL.Path, m.cfg.PathPrefix); ok {
			if route, ok := m.routes[rest]; ok {
				route(w, r)
				return
			}
			// A provider that appends "&state=..." to the landing URL
			// without a "?" (one Decathlon page shows it) still lands.
			if q, ok := strings.CutPrefix(rest, "/logged-out&"); ok && r.URL.RawQuery == "" {
				landing := *r.URL
				landing.Path, landing.RawPath, landing.RawQuery = m.cfg.PathPrefix+"/logged-out", "", q
				r2 := *r
				r2.URL = &landing
				m.loggedOut(w, &r2)
				return
			}
		}
		r, ok := m.loadSession(w, r)
		if !ok {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// LoginHandler returns the login route, for applications that mount the
// routes on their own router (most need only [Middleware.Handler] or
// [Middleware.Routes]); it must be mounted at PathPrefix + "/login".
// Nothing is registered at the provider for it.
//
// A GET starts a sign-in: a fresh per-flow state cookie (state, nonce,
// PKCE verifier, provider, return target), then a redirect to the
// provider's authorization endpoint (or a pushed authorization request
// first, where configured). With several providers and no provider
// parameter it answers a page to choose one. return_to must be a path on
// this site; another target is replaced by "/" and logged. The login
// parameters of the allow-list (prompt, login_hint, max_age, acr_values,
// ui_locales, display and the provider's [providers.Provider.LoginParams])
// are forwarded; a value that is not valid answers 400, an unknown
// provider 400, another method 405, a provider that cannot be discovered
// 502 or 504, each with a page (or JSON for an API call).
func (m *Middleware) LoginHandler() http.Handler { return http.HandlerFunc(m.login) }

// CallbackHandler returns the login callback route: PathPrefix +
// "/callback", or PathPrefix + "/callback/NAME" for each provider when
// there are several. Register that URL at the provider as the redirect_uri
// ([New] logs it).
//
// It checks the flow's state (single use, bound to the browser's state
// cookie), that the answer came to the callback of the flow's provider,
// RFC 9207's iss when sent, and the provider's error; redeems the code
// with the PKCE verifier; verifies the ID token (signature, issuer,
// audience and azp, iat, expiry, nonce, at_hash, and the acr and
// auth_time a step-up asked for); fetches userinfo when configured; then
// creates a brand-new session and returns to the login's return_to. An
// unknown, replayed or expired state, a missing code or a token that
// fails a check answers 400 with a page that offers to sign in again, and
// no session is created; a provider's error answers 400 (access_denied
// and the like) or, for a silent login, returns to return_to signed out;
// a provider that fails answers 502 or 504, a misconfigured client 500.
func (m *Middleware) CallbackHandler() http.Handler { return http.HandlerFunc(m.callback) }

// LogoutHandler returns the logout route, PathPrefix + "/logout". Nothing
// is registered at the provider for it (the landing is registered; see
// [Middleware.LoggedOutHandler]).
//
// A same-origin POST (the sign-out button) logs out: the session and its
// cookies are deleted first, [Config.OnLogout] erases the application's
// copies, the tokens are revoked, and the browser goes to the provider's
// end-session endpoint as the provider's logout strategy says (a
// redirect, a page that navigates there, an auto-submitted form, a call
// server to server, or nothing for a provider without logout). A GET logs
// out only when the browser's Fetch Metadata say it follows a link on this
// site's own pages; any other GET or HEAD (an image, a fetch, a frame, a
// typed URL, a link from another site) answers a "Sign out?" page whose
// button logs out. A cross-site POST answers 403 and ends nothing; a store
// that cannot delete answers 503 and keeps the cookies, so that signing
// out again can finish; another method answers 405. Signing out without a
// session still clears the cookies and lands on the post-logout page.
func (m *Middleware) LogoutHandler() http.Handler { return http.HandlerFunc(m.logout) }

// LoggedOutHandler returns the post-logout landing route, PathPrefix +
// "/logged-out". Register AppURL + PathPrefix + "/logged-out" at the
// provider as the post_logout_redirect_uri ([New] logs it).
//
// The provider sends the browser back here after its logout. The echoed
// state must be the one this browser's logout sent, signed by the
// middleware; then the browser goes to the logout's return_to (or
// [Config.PostLogoutPath]) with a notice when the provider could not be
// reached or has no logout. A state that is missing, given twice or not
// the one sent answers 400 with a page that says the sign-out could not
// be verified (the session is already gone); a state of this site that
// comes back after its cookie lapsed lands signed out with the
// late-return notice; another method answers 405. Nothing here can sign
// anyone in.
func (m *Middleware) LoggedOutHandler() http.Handler { return http.HandlerFunc(m.loggedOut) }

// loadSession reads the request's session once, refreshes its tokens when
// they are about to expire, and puts it in the context. It answers 503
// itself, and reports false, when the store is down.
func (m *Middleware) loadSession(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	d, err := m.store.Load(r)
	switch {
	case err == nil && d == nil:
		return r, true
	case errors.Is(err, session.ErrUnavailable):
		m.fail(w, r, "session", newError(http.StatusServiceUnavailable, "store_unavailable",
			"Sessions are unavailable for a moment. Please try again shortly.", err))
		return nil, false
	case err != nil:
		m.log.WarnContext(r.Context(), "session cookie rejected", "event", "session", "code", "invalid_cookie",
			"correlation_id", correlationID(r), "reason", describe(err))
		m.observe(r.Context(), Event{Kind: EventRejected, Route: "session", Code: "invalid_cookie"})
		m.store.Delete(w, r, nil)
		return r, true
	}
	now := m.cfg.Now()
	if refreshDue(d, now, m.cfg.RefreshMargin) {
		if d = m.refreshSession(w, r, d, now); d == nil {
			return r, true
		}
	} else if m.cfg.ExpiredTokenEndsSession && d.RefreshToken == "" && tokenExpired(d, now) {
		m.log.InfoContext(r.Context(), "session ended: its access token expired and cannot be refreshed", "event", "session",
			"provider", d.Provider, "correlation_id", correlationID(r))
		m.sessionEnded(w, r, ReasonExpired, d, m.store.Delete(w, r, d))
		return r, true
	}
	if m.cfg.Lifetime.NeedsTouch(d, now) {
		m.cfg.Lifetime.Stamp(d, now)
		if err := m.store.Save(w, r, d); err != nil {
			m.log.WarnContext(r.Context(), "session not extended", "event", "session", "correlation_id", correlationID(r), "reason", describe(err))
		}
	}
	return withSession(r, d), true
}

type sessionKey struct{}

// SessionFromContext returns a copy of the current user's session, for
// requests that went through [Middleware.Handler].
func SessionFromContext(ctx context.Context) (session.Data, bool) {
	d, ok := ctx.Value(sessionKey{}).(*session.Data)
	if !ok {
		return session.Data{}, false
	}
	return *d, true
}

// TokenFromContext returns the current user's OAuth 2.0 token, for calls
// to APIs on the user's behalf. It reports false when the session has no
// access token, or one that has expired by the middleware's clock: the
// provider gave no refresh token (see [Config.ExpiredTokenEndsSession]), or
// the refresh failed.
func TokenFromContext(ctx context.Context) (*oauth2.Token, bool) {
	d, ok := ctx.Value(sessionKey{}).(*session.Data)
	if !ok || d.AccessToken == "" {
		return nil, false
	}
	now, ok := ctx.Value(clockKey{}).(func() time.Time)
	if !ok {
		now = time.Now
	}
	if tokenExpired(d, now()) {
		return nil, false
	}
	return &oauth2.Token{AccessToken: d.AccessToken, TokenType: d.TokenType, RefreshToken: d.RefreshToken, Expiry: d.Expiry}, true
}

// StartSession creates a brand-new session for a user the application
// authenticated itself, such as after a device flow whose logout the
// provider ends server to server (d.Device). d.Provider must name a
// configured provider. Any previous session of the request is deleted.
func (m *Middleware) StartSession(w http.ResponseWriter, r *http.Request, d session.Data) error {
	p, ok := m.providers[d.Provider]
	if !ok {
		return fmt.Errorf("middleware: unknown provider %q", d.Provider)
	}
	if d.Issuer == "" {
		d.Issuer = p.Issuer
	}
	return m.newSession(w, r, &d)
}

// newSession replaces the request's session, if any, with d under a new
// identifier: nothing is kept from before.
func (m *Middleware) newSession(w http.ResponseWriter, r *http.Request, d *session.Data) error {
	if old, err := m.store.Load(r); err == nil && old != nil {
		err := m.store.Delete(w, r, old)
		m.sessionEnded(w, r, ReasonReplaced, old, err)
		if err != nil {
			return fmt.Errorf("middleware: deleting the previous session: %w", err)
		}
	}
	d.ID = session.NewID()
	d.Created = time.Time{}
	m.cfg.Lifetime.Stamp(d, m.cfg.Now())
	return m.store.Save(w, r, d)
}

// resolve returns the provider ready for login, discovering it if needed.
func (m *Middleware) resolve(ctx context.Context, p *provider) (*providers.Resolved, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resolved != nil {
		return p.resolved, nil
	}
	if p.err != nil && m.cfg.Now().Sub(p.failedAt) < retryAfter {
		return nil, p.err
	}
	// The key set keeps the context for its later fetches: give it one
	// that carries the client but is never canceled.
	keysCtx := oidc.ClientContext(context.Background(), m.cfg.HTTPClient)
	discoveryCtx, cancel := context.WithTimeout(oidc.ClientContext(m.providerCall(ctx, p.Name, "discovery"), m.cfg.HTTPClient), m.cfg.ProviderTimeout)
	defer cancel()
	r, err := p.resolveWith(discoveryCtx, keysCtx, m.appOrigin+m.cfg.PathPrefix+p.callbackPath)
	if err != nil {
		p.err, p.failedAt = err, m.cfg.Now()
		return nil, err
	}
	// Verify ID and logout tokens with keys fetched within the request and
	// rate limited, not with go-oidc's RemoteKeySet; see keySet.
	keys := newKeySet(r.Endpoints.JWKSURL, m.cfg.HTTPClient, r.Endpoints.SigningAlgs, m.cfg.ProviderTimeout, m.cfg.Now)
	keys.label = func(ctx context.Context) context.Context { return m.providerCall(ctx, p.Name, "keys") }
	r.KeySet = keys
	r.Verifier = oidc.NewVerifier(p.Issuer, keys, &oidc.Config{
		ClientID: p.ClientID, SupportedSigningAlgs: r.Endpoints.SigningAlgs, Now: m.cfg.Now,
		// A template issuer: checkTenant compares iss with the
		// template filled with the token's tenant, after every login
		// and refresh.
		SkipIssuerCheck: p.MultiTenant != nil,
	})
	p.resolved, p.err = r, nil
	return r, nil
}

// resolveWith discovers with one context and builds the verifier's key
// set with another.
func (p *provider) resolveWith(discoveryCtx, keysCtx context.Context, callback string) (*providers.Resolved, error) {
	explicit := p.Provider
	if p.Endpoints.AuthURL == "" || p.Endpoints.TokenURL == "" {
		e, err := p.Provider.Discover(discoveryCtx)
		if err != nil {
			return nil, err
		}
		explicit.Endpoints = e
	}
	return explicit.Resolve(keysCtx, callback)
}
