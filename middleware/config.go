package middleware

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// Config is the whole configuration of the middleware. Zero values mean the
// documented defaults. [New] validates it once, at start-up.
type Config struct {
	// AppURL is the application's public base URL, such as
	// "https://app.example.com". The callback and post-logout URLs given
	// to providers are built from it, never from the request, and cookies
	// are Secure when it is https. Required; no path, query or fragment.
	AppURL string

	// Providers the users log in with. At least one. With several, the
	// login route takes ?provider=NAME.
	Providers []providers.Provider

	// Keys protect the session and the login and logout state cookies:
	// newest pair first, older pairs still read (key rotation). Required.
	Keys []session.KeyPair

	// Store keeps sessions. Default: a [session.CookieStore] built from
	// Keys, with a per-process revocation list for logouts and the
	// provider's logouts.
	// With an https AppURL, a store that reports SecureCookies() false
	// (as the session package's stores do when built without Secure) is
	// refused.
	Store session.Store

	// PathPrefix is where the middleware mounts its routes; default
	// "/auth": /auth/login, /auth/callback, /auth/logout and
	// /auth/logged-out (the post-logout landing, to register at the
	// provider). With several providers that have a login, each has its
	// own callback, /auth/callback/NAME, the redirect URI to register at
	// that provider.
	PathPrefix string
	// PostLogoutPath is where users land after logout when the logout
	// request named no return_to; default "/".
	PostLogoutPath string
	// SessionInfo, when set, serves PathPrefix + "/session": JSON for
	// single-page applications with the user's non-secret claims and when
	// the session ends; see [Middleware.SessionInfoHandler]. Default: not
	// served.
	SessionInfo *SessionInfo

	// Lifetime of sessions. Default: 24 hours idle, 7 days absolute.
	Lifetime session.Lifetime

	// MaxLoginFlows caps the logins in flight in one browser (one per tab);
	// past it the oldest is dropped. Default 5.
	MaxLoginFlows int
	// LoginTimeout bounds how long a login may take at the provider;
	// default 10 minutes.
	LoginTimeout time.Duration
	// ProviderTimeout bounds each call to the provider during login
	// (discovery, token, keys, userinfo); default 10 seconds.
	ProviderTimeout time.Duration
	// LogoutTimeout bounds each call to the provider during logout; a
	// call past it never holds back the user, whose local session is
	// already gone. Default 3 seconds.
	LogoutTimeout time.Duration

	// HTTPClient makes every call to the providers. Default: a client
	// whose Timeout is the longer of ProviderTimeout and LogoutTimeout.
	// Each call is bounded by those timeouts whatever the client, key
	// fetches included: they run within the request that needs them.
	HTTPClient *http.Client
	// Logger receives structured events (login, logout, rejected input),
	// never tokens, codes, cookies or personal claims. Each record of a
	// request is logged with the request's context (InfoContext and the
	// like), so a handler that adds trace and span ids from the context
	// finds them, and carries a correlation_id: the request's X-Request-Id
	// when that is 1 to 64 letters, digits, '-', '_' or '.'; else the
	// trace id of a valid W3C traceparent header; else a new random id.
	// Every reason is one line. Default slog.Default().
	Logger *slog.Logger

	// IsAPIRequest tells [Middleware.Require] which requests without a
	// session are API calls, answered 401 with a JSON body and a
	// WWW-Authenticate header, rather than a browser's navigation, sent to
	// sign in and back. Requests other than GET and HEAD always get 401.
	// Default [DefaultIsAPIRequest].
	IsAPIRequest func(r *http.Request) bool

	// ErrorHandler writes the response for every error the middleware
	// answers itself. Default: a plain page (or JSON for clients that ask
	// for it) with a short message and the correlation id, never the
	// internal error. The error has already been logged.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err *Error)

	// Pages, when set, replace the pages the middleware renders with the
	// application's own: each template of the set named after a page
	// below replaces that page, and the others keep the middleware's.
	// Other templates of the set (layouts, parts) must have names that
	// begin with "_"; any other name is refused by [New], so that a
	// misspelt page does not silently leave the default in place. The
	// middleware's headers stay: its Content-Security-Policy allows no
	// script but one carrying the page's nonce, no style sheet but inline
	// styles, and form actions only where the page's form must go.
	//
	// Every page gets Title (a heading for people) and CorrelationID (the
	// reference that ties the page to the log). Besides:
	//   - "error": Error, the [*Error] (show Error.Message and
	//     Error.CorrelationID, never Error.Err). Used when ErrorHandler is
	//     nil; API calls still get JSON.
	//   - "confirm-logout": the "Sign out?" page of a logout that did not
	//     come from the application's own page. Its form must POST to
	//     Action, with return_to = ReturnTo when not empty and a hidden
	//     field named FormActionField with the value "self".
	//   - "choose-provider": Links, each with Name and URL, one per
	//     provider.
	//   - "signing-out": a page that takes the browser to the provider's
	//     logout at URL; its script must carry nonce="{{.Nonce}}" (a link
	//     to URL is the fallback without script).
	//   - "signing-out-form": an auto-submitted form: POST to URL with the
	//     fields of Form (a [url.Values]); its script must carry
	//     nonce="{{.Nonce}}".
	//   - "frontchannel": the page of the provider's front-channel logout
	//     frame: Message.
	Pages *template.Template

	// OnLogout is called at every end of a session, whoever ends it (the
	// user, the provider by back-channel or front-channel logout, a
	// refresh the provider refused, or the application through
	// [Middleware.Expire]), so the application erases its own copies of
	// the user's personal data. It runs after the session is deleted and,
	// for the user's logout, before the provider is contacted. The event
	// says why, and what is known of the user: see [LogoutEvent]. An error
	// is logged and reported; the logout goes on.
	OnLogout func(ctx context.Context, e LogoutEvent) error
	// OnLogoutReport receives the audit record of every logout, whoever
	// ends the session (one per OnLogout reason): each step and its
	// outcome.
	OnLogoutReport func(ctx context.Context, report LogoutReport)

	// ReplayCache remembers the back-channel logout tokens already
	// received, so each is accepted once. Default: a bounded list in
	// memory, which covers one process; give a shared one (such as Redis)
	// when several replicas receive back-channel logouts.
	ReplayCache ReplayCache
	// LogoutTokenMaxAge is how old, by its iat, a back-channel logout token
	// without exp may be. Providers that follow the 2022 text of the
	// specification omit exp; tokens that carry it are good until it.
	// Default 2 minutes.
	LogoutTokenMaxAge time.Duration

	// RefreshMargin is how long before its expiry an access token is
	// refreshed, so that the application's calls with it do not fail in
	// flight. It is at most a quarter of the token's lifetime: a token
	// shorter than four margins is refreshed once in its life, when three
	// quarters of it have passed, not at every request. Default 20
	// seconds.
	RefreshMargin time.Duration
	// ExpiredTokenEndsSession, when set, ends a session whose access token
	// has expired and that holds no refresh token (many providers give one
	// only for the offline_access scope): the user signs in again, and
	// OnLogout runs with [ReasonExpired]. By
	// default such a session goes on until its own Lifetime, and
	// [TokenFromContext] reports no token once the access token has
	// expired. A session whose refresh failed because the provider is down
	// is never ended for it.
	ExpiredTokenEndsSession bool

	// Locker, when set, lets one replica at a time refresh a session's
	// tokens: the others wait, then take the refreshed session. Within one
	// process, concurrent requests of a session share one refresh without
	// it, and requests that carry the session from before a refresh get
	// the refreshed one for [RefreshGrace]. Across replicas, a server-side
	// store gives the waiting replica the refreshed session; with the
	// cookie store the Locker must also be a [RefreshResults] (as
	// redisstore's RefreshLocker is), or a request that reaches another
	// replica with the cookie from before a refresh sends the spent
	// refresh token. Default none.
	Locker Locker

	// ClearSiteData, when set, adds a Clear-Site-Data header with these
	// directives (such as "cache", "cookies", "storage") to the
	// post-logout landing response.
	ClearSiteData []string

	// Observer, when set, is told of every login, logout, refresh,
	// back-channel and front-channel logout and rejected request, and of
	// every call to a provider, for metrics and traces (the nested module
	// github.com/endsession/endsession/otelendsession implements it with
	// OpenTelemetry). Default none, at no cost.
	Observer Observer

	// Now is the clock; default time.Now. For tests.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.PathPrefix == "" {
		c.PathPrefix = "/auth"
	}
	if strings.Trim(c.PathPrefix, "/") != "" {
		c.PathPrefix = "/" + strings.Trim(c.PathPrefix, "/")
	}
	if c.PostLogoutPath == "" {
		c.PostLogoutPath = "/"
	}
	if c.Lifetime.Idle == 0 {
		c.Lifetime.Idle = 24 * time.Hour
	}
	if c.Lifetime.Absolute == 0 {
		c.Lifetime.Absolute = 7 * 24 * time.Hour
	}
	if c.MaxLoginFlows == 0 {
		c.MaxLoginFlows = 5
	}
	if c.LoginTimeout == 0 {
		c.LoginTimeout = 10 * time.Minute
	}
	if c.ProviderTimeout == 0 {
		c.ProviderTimeout = 10 * time.Second
	}
	if c.LogoutTimeout == 0 {
		c.LogoutTimeout = 3 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: max(c.ProviderTimeout, c.LogoutTimeout)}
	}
	if c.Observer != nil {
		c.HTTPClient = observedClient(c.HTTPClient, c.Observer)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.IsAPIRequest == nil {
		c.IsAPIRequest = DefaultIsAPIRequest
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = DefaultErrorHandler
		if c.Pages != nil {
			if t := c.Pages.Lookup(pageError.Name()); t != nil {
				c.ErrorHandler = errorHandler(t)
			}
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RefreshMargin == 0 {
		c.RefreshMargin = 20 * time.Second
	}
	if c.LogoutTokenMaxAge == 0 {
		c.LogoutTokenMaxAge = 2 * time.Minute
	}
	if c.ReplayCache == nil {
		c.ReplayCache = newMemoryReplayCache(c.Now)
	}
	if len(c.Providers) == 1 && c.Providers[0].Name == "" {
		c.Providers[0].Name = "default"
	}
}

func (c *Config) validate() (*url.URL, error) {
	app, err := url.Parse(c.AppURL)
	if err != nil {
		return nil, fmt.Errorf("middleware: AppURL: %w", err)
	}
	if (app.Scheme != "https" && app.Scheme != "http") || app.Host == "" ||
		strings.Trim(app.Path, "/") != "" || app.RawQuery != "" || app.Fragment != "" || app.User != nil {
		return nil, fmt.Errorf("middleware: AppURL %q must be an http(s) origin such as https://app.example.com", c.AppURL)
	}
	if c.PathPrefix == "" || c.PathPrefix[0] != '/' || path.Clean(c.PathPrefix) != c.PathPrefix ||
		c.PathPrefix == "/" || strings.ContainsAny(c.PathPrefix, "?#%\\ ") {
		return nil, fmt.Errorf("middleware: PathPrefix %q must be a clean path below the root, such as /auth", c.PathPrefix)
	}
	if s, ok := c.Store.(interface{ SecureCookies() bool }); ok && app.Scheme == "https" && !s.SecureCookies() {
		return nil, errors.New("middleware: AppURL is https but the Store's cookies are not Secure: build the store with Secure: true")
	}
	if err := validPages(c.Pages); err != nil {
		return nil, err
	}
	if len(c.Providers) == 0 {
		return nil, errors.New("middleware: at least one provider is required")
	}
	seen := map[string]bool{}
	for i := range c.Providers {
		p := &c.Providers[i]
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("middleware: %w", err)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("middleware: two providers are named %q", p.Name)
		}
		seen[p.Name] = true
	}
	if len(c.Keys) == 0 {
		return nil, errors.New("middleware: Keys are required (at least one hash and block key pair)")
	}
	if _, ok := safeReturn(c.PostLogoutPath); !ok {
		return nil, fmt.Errorf("middleware: PostLogoutPath %q must be a local path", c.PostLogoutPath)
	}
	if c.Lifetime.Idle < 0 || c.Lifetime.Absolute < c.Lifetime.Idle && c.Lifetime.Absolute > 0 {
		return nil, errors.New("middleware: Lifetime.Absolute must not be shorter than Lifetime.Idle")
	}
	if c.RefreshMargin < 0 {
		return nil, errors.New("middleware: RefreshMargin must not be negative")
	}
	if c.LogoutTokenMaxAge < 0 {
		return nil, errors.New("middleware: LogoutTokenMaxAge must not be negative")
	}
	if c.MaxLoginFlows < 1 || c.MaxLoginFlows > 20 {
		return nil, errors.New("middleware: MaxLoginFlows must be between 1 and 20")
	}
	return app, nil
}
