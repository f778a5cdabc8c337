package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/internal/answer"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// flow is one login in flight, kept in its own signed and encrypted
// cookie so several tabs can log in at once.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Provider string `json:"p"`
	ReturnTo string `json:"r"`
	Created  int64  `json:"t"`
	// MaxAge is the login's max_age, checked against auth_time.
	MaxAge *int64 `json:"m,omitempty"`
	// ACR are the login's acr_values, one of which the acr must be.
	ACR []string `json:"a,omitempty"`
	// Silent marks a login with prompt=none: when the provider would need
	// the user, it comes back anonymous.
	Silent bool `json:"q,omitempty"`
}

// stateCookieName names one of the middleware's own short-lived cookies
// (the login flows, the logout state), with the __Host- prefix on https:
// the browser then takes them only from this very origin over https, never
// from a sibling subdomain or plain http, and only with Path=/
// (stateCookiePath) and no Domain.
func (m *Middleware) stateCookieName(base string) string {
	if m.secure {
		return "__Host-" + base
	}
	return base
}

// stateCookiePath is the path of the state cookies: "/", as the __Host-
// prefix requires, on http too, so that both schemes behave alike.
const stateCookiePath = "/"

// flowCookiePrefix names the login flow cookies: the prefix and the state.
func (m *Middleware) flowCookiePrefix() string { return m.stateCookieName("endsession_flow_") }

func (m *Middleware) login(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	r, _ = withCorrelation(r)
	m.checkHost(r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		m.fail(w, r, "login", newError(http.StatusMethodNotAllowed, "method_not_allowed", "Use a link to sign in.", nil))
		return
	}
	q := r.URL.Query()
	returnTo, ok := safeReturn(q.Get("return_to"))
	if !ok && q.Has("return_to") {
		m.log.WarnContext(r.Context(), "return target rejected", "event", "login", "code", "invalid_return_to", "correlation_id", correlationID(r))
		m.observe(r.Context(), Event{Kind: EventRejected, Route: "login", Code: "invalid_return_to"})
	}
	if !ok {
		returnTo = "/"
	}
	p, ok := m.loginProvider(q.Get("provider"))
	if !ok {
		if q.Get("provider") != "" {
			m.fail(w, r, "login", newError(http.StatusBadRequest, "unknown_provider", "This sign-in provider is not available.", nil))
			return
		}
		m.chooseProvider(w, r, returnTo)
		return
	}
	resolved, err := m.resolve(r.Context(), p)
	if err != nil {
		m.fail(w, r, "login", providerError(p.Name, "discovery", err))
		return
	}
	f := flow{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Provider: p.Name,
		ReturnTo: returnTo,
		Created:  m.cfg.Now().Unix(),
	}
	params, err := loginParams(q, p.LoginParams, &f)
	if err != nil {
		m.fail(w, r, "login", newError(http.StatusBadRequest, "invalid_login_parameter",
			"This sign-in link is not valid.", err))
		return
	}
	if _, err := r.Cookie(m.silentCookieName()); err == nil && f.Silent {
		// Silent logins are held in this browser (see TrySilentLogin):
		// back anonymous, as if the provider had needed the user.
		m.log.InfoContext(r.Context(), "silent login held in this browser; back anonymous", "event", "login", "correlation_id", correlationID(r))
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
		return
	}
	if f.Silent {
		// Tried now: not again for a while, unless the user signs in
		// (the callback then drops the cookie).
		m.holdSilentLogins(w, int(silentRetryAfter/time.Second))
	}
	value, err := m.encodeState(m.flowCookiePrefix()+f.State, f)
	if err != nil {
		m.fail(w, r, "login", newError(http.StatusInternalServerError, "internal", "Sign-in could not start.", err))
		return
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)}
	for k, vs := range p.AuthParams {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	opts = append(opts, params...)
	target := resolved.OAuth2.AuthCodeURL(f.State, opts...)
	if usesPAR(p, resolved.Endpoints) {
		// Pushed first, before any cookie: a failure leaves no flow.
		if target, err = m.pushAuthorization(r.Context(), p, resolved, target); err != nil {
			m.fail(w, r, "login", providerError(p.Name, "par", err))
			return
		}
	}
	m.dropOldFlows(w, r)
	http.SetCookie(w, &http.Cookie{
		Name: m.flowCookiePrefix() + f.State, Value: value, Path: stateCookiePath,
		MaxAge: int(m.cfg.LoginTimeout / time.Second), HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode,
	})
	m.log.InfoContext(r.Context(), "login started", "event", "login", "provider", p.Name, "correlation_id", correlationID(r))
	http.Redirect(w, r, target, http.StatusFound)
}

// loginProvider picks the provider of a login: the named one, or the only
// one that has a login.
func (m *Middleware) loginProvider(name string) (*provider, bool) {
	if name != "" {
		p, ok := m.providers[name]
		return p, ok && p.HasLogin()
	}
	var only *provider
	for _, p := range m.order {
		if p.HasLogin() {
			if only != nil {
				return nil, false
			}
			only = p
		}
	}
	return only, only != nil
}

func (m *Middleware) chooseProvider(w http.ResponseWriter, r *http.Request, returnTo string) {
	type link struct{ Name, URL string }
	var links []link
	for _, p := range m.order {
		if p.HasLogin() {
			q := url.Values{"provider": {p.Name}, "return_to": {returnTo}}
			links = append(links, link{p.Name, m.cfg.PathPrefix + "/login?" + q.Encode()})
		}
	}
	render(w, http.StatusOK, m.page(pageChooseProvider), map[string]any{"Title": "Sign in", "Links": links, "CorrelationID": correlationID(r)})
}

// dropOldFlows keeps at most MaxLoginFlows-1 flow cookies before a new one
// is added: the oldest, and any that no longer decode, are expired.
func (m *Middleware) dropOldFlows(w http.ResponseWriter, r *http.Request) {
	prefix := m.flowCookiePrefix()
	type entry struct {
		name    string
		created int64
	}
	var flows []entry
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, prefix) {
			continue
		}
		var f flow
		if m.decodeState(c.Name, c.Value, &f) != nil {
			m.expireFlow(w, c.Name)
			continue
		}
		flows = append(flows, entry{c.Name, f.Created})
	}
	if len(flows) < m.cfg.MaxLoginFlows {
		return
	}
	sort.Slice(flows, func(i, j int) bool { return flows[i].created < flows[j].created })
	for _, e := range flows[:len(flows)-m.cfg.MaxLoginFlows+1] {
		m.expireFlow(w, e.name)
	}
}

func (m *Middleware) expireFlow(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: stateCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
}

// validState reports whether s has the shape of the states login makes
// (crypto/rand.Text: 26 base32 characters), before it names a cookie.
func validState(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func (m *Middleware) callback(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	r, _ = withCorrelation(r)
	m.checkHost(r)
	if r.Method != http.MethodGet {
		m.fail(w, r, "callback", newError(http.StatusMethodNotAllowed, "method_not_allowed", "This address only takes the provider's redirect.", nil))
		return
	}
	q := r.URL.Query()
	f, e := m.takeFlow(w, r, q.Get("state"))
	if e != nil {
		m.fail(w, r, "callback", e)
		return
	}
	p, ok := m.providers[f.Provider]
	if !ok || !p.HasLogin() {
		m.fail(w, r, "callback", newError(http.StatusBadRequest, "unknown_provider", "This sign-in provider is not available.", nil))
		return
	}
	if e := m.checkCallbackPath(r, p); e != nil {
		m.fail(w, r, "callback", e)
		return
	}
	resolved, err := m.resolve(r.Context(), p)
	if err != nil {
		m.fail(w, r, "callback", providerError(p.Name, "discovery", err))
		return
	}
	// RFC 9207: the response must come from the provider the request went
	// to, checked before anything else is believed, errors included.
	if iss, sent := q["iss"]; sent {
		if len(iss) != 1 || iss[0] != p.Issuer {
			m.fail(w, r, "callback", newError(http.StatusBadRequest, "invalid_issuer",
				"The sign-in response did not come from the expected provider. Please sign in again.",
				fmt.Errorf("iss parameter %s does not match the configured issuer %q", answer.Identifier(strings.Join(iss, " ")), p.Issuer)))
			return
		}
	} else if resolved.Endpoints.IssParameter {
		m.fail(w, r, "callback", newError(http.StatusBadRequest, "invalid_issuer",
			"The sign-in response did not name its provider. Please sign in again.", errors.New("iss parameter missing")))
		return
	}
	if code := q.Get("error"); code != "" && f.Silent && slices.Contains(silentErrors, code) {
		m.log.InfoContext(r.Context(), "silent login: the provider needs the user; back anonymous", "event", "login",
			"code", code, "provider", p.Name, "correlation_id", correlationID(r))
		m.observe(r.Context(), Event{Kind: EventLogin, Provider: p.Name, Outcome: OutcomeAnonymous, Code: answer.Code(code)})
		target, ok := safeReturn(f.ReturnTo)
		if !ok {
			target = "/"
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	if code := q.Get("error"); code != "" {
		m.fail(w, r, "callback", providerRefused(code))
		return
	}
	if q.Get("code") == "" {
		m.fail(w, r, "callback", newError(http.StatusBadRequest, "missing_code", "The sign-in response is incomplete. Please sign in again.", nil))
		return
	}
	d, e := m.complete(r.Context(), p, resolved, f, q.Get("code"))
	if e != nil {
		m.fail(w, r, "callback", e)
		return
	}
	var at struct {
		ACR      string   `json:"acr"`
		AuthTime *float64 `json:"auth_time"`
	}
	d.Claims(&at)
	if err := checkAuthentication(f, at.ACR, at.AuthTime, m.cfg.Now()); err != nil {
		m.fail(w, r, "callback", newError(http.StatusBadRequest, "stale_authentication",
			"The provider did not sign you in as this page requires. Please sign in again.", err))
		return
	}
	if err := m.newSession(w, r, d); err != nil {
		status, msg := http.StatusInternalServerError, "Your session could not be saved. Please try again."
		if errors.Is(err, session.ErrTooLarge) {
			msg = "Your session is too large for this site's session store. Please tell the site's administrators."
		}
		if errors.Is(err, session.ErrUnavailable) {
			status, msg = http.StatusServiceUnavailable, "Sessions are unavailable for a moment. Please try again shortly."
		}
		m.fail(w, r, "callback", newError(status, "session_not_saved", msg, err))
		return
	}
	if _, err := r.Cookie(m.silentCookieName()); err == nil {
		m.holdSilentLogins(w, -1) // signed in: silent logins may be tried again later
	}
	m.log.InfoContext(r.Context(), "login succeeded", "event", "login", "provider", p.Name, "correlation_id", correlationID(r))
	m.observe(r.Context(), Event{Kind: EventLogin, Provider: p.Name, Outcome: OutcomeOK})
	target, ok := safeReturn(f.ReturnTo)
	if !ok {
		target = "/"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// takeFlow finds and consumes the login flow named by state: it is used
// once, and its cookie is expired in this response whatever happens next.
func (m *Middleware) takeFlow(w http.ResponseWriter, r *http.Request, state string) (*flow, *Error) {
	invalid := func(why string) *Error {
		return newError(http.StatusBadRequest, "invalid_state",
			"This sign-in link is invalid, expired or already used. Please sign in again.", errors.New(why))
	}
	if !validState(state) {
		return nil, invalid("state missing or malformed")
	}
	name := m.flowCookiePrefix() + state
	c, err := r.Cookie(name)
	if err != nil {
		return nil, invalid("no login flow for this state in this browser")
	}
	m.expireFlow(w, name)
	var f flow
	if err := m.decodeState(name, c.Value, &f); err != nil {
		return nil, invalid("login flow cookie does not decode: " + err.Error())
	}
	if subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) != 1 {
		return nil, invalid("state does not match its flow")
	}
	if m.cfg.Now().Sub(time.Unix(f.Created, 0)) > m.cfg.LoginTimeout {
		return nil, invalid("login flow expired")
	}
	if !m.usedStates.use(state, m.cfg.Now()) {
		return nil, invalid("state replayed")
	}
	return &f, nil
}

// complete exchanges the code, verifies the ID token and builds the new
// session's data.
func (m *Middleware) complete(ctx context.Context, p *provider, resolved *providers.Resolved, f *flow, code string) (*session.Data, *Error) {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(m.providerCall(ctx, p.Name, "token"), m.tokenClient(p, resolved)), m.cfg.ProviderTimeout)
	defer cancel()
	now := m.cfg.Now()
	tok, err := resolved.OAuth2.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, newError(http.StatusBadRequest, "invalid_grant", "This sign-in code is invalid or already used. Please sign in again.", err)
		}
		return nil, providerError(p.Name, "token", err)
	}
	// Some providers echo the nonce in the token response: check it too.
	if n, ok := tok.Extra("nonce").(string); ok && subtle.ConstantTimeCompare([]byte(n), []byte(f.Nonce)) != 1 {
		return nil, invalidToken(errors.New("token response nonce does not match"))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, newError(http.StatusBadGateway, "missing_id_token", "The provider did not send an ID token.", nil)
	}
	idt, err := resolved.Verifier.Verify(ctx, raw)
	if err != nil {
		if keysUnreachable(ctx, err) {
			return nil, providerError(p.Name, "keys", keysError(ctx, resolved, err))
		}
		if e, ok := idTokenIssuerMismatch(p.Name, p.Issuer, raw); ok {
			return nil, e
		}
		return nil, invalidToken(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return nil, invalidToken(errors.New("ID token nonce missing or wrong"))
	}
	c, err := checkIDToken(p.ClientID, idt, now)
	if err == nil {
		err = checkTenant(p.MultiTenant, p.Issuer, idt)
	}
	if err != nil {
		return nil, invalidToken(err)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, invalidToken(err)
		}
	}
	var extra []byte
	if resolved.UserInfo != nil && p.UserInfo {
		var err *Error
		if extra, err = m.userInfo(ctx, p.Name, resolved, tok, idt, &c.Email, &c.Name); err != nil {
			return nil, err
		}
	}
	return &session.Data{
		Provider:        p.Name,
		Issuer:          p.Issuer,
		Subject:         idt.Subject,
		SID:             c.SID,
		Email:           c.Email,
		Name:            c.Name,
		IDToken:         raw,
		IDTokenExpiry:   idt.Expiry,
		AccessToken:     tok.AccessToken,
		TokenType:       tok.TokenType,
		RefreshToken:    tok.RefreshToken,
		Expiry:          tokenExpiry(tok, now),
		TokenIssued:     now,
		ExtraClaimsJSON: string(extra),
	}, nil
}

// userInfo fetches the userinfo claims and returns, as a JSON object, those
// that the ID token does not already hold with the same value (nil when
// there are none). email and name are filled from userinfo when the ID
// token lacked them.
func (m *Middleware) userInfo(ctx context.Context, providerName string, resolved *providers.Resolved, tok *oauth2.Token, idt *oidc.IDToken, email, name *string) ([]byte, *Error) {
	fromInfo, err := m.fetchUserInfo(m.providerCall(ctx, providerName, "userinfo"), resolved, tok)
	if err != nil {
		return nil, providerError(providerName, "userinfo", err)
	}
	var sub string
	if json.Unmarshal(fromInfo["sub"], &sub) != nil || sub != idt.Subject {
		return nil, invalidToken(errors.New("userinfo subject differs from the ID token's"))
	}
	var fromToken map[string]json.RawMessage
	if err := idt.Claims(&fromToken); err != nil {
		return nil, invalidToken(err)
	}
	extra := map[string]json.RawMessage{}
	for k, v := range fromInfo {
		if k != "sub" && !bytes.Equal(fromToken[k], v) {
			extra[k] = v
		}
	}
	if *email == "" {
		json.Unmarshal(fromInfo["email"], email)
	}
	if *name == "" {
		json.Unmarshal(fromInfo["name"], name)
	}
	if len(extra) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(extra)
	if err != nil {
		return nil, providerError(providerName, "userinfo", err)
	}
	return b, nil
}

func invalidToken(err error) *Error {
	return newError(http.StatusBadRequest, "invalid_id_token", "The provider's answer could not be verified. Please sign in again.", err)
}

// providerRefused answers an "error" sent back by the provider. Only a
// well-formed error code is kept; the provider's text is never echoed.
func providerRefused(code string) *Error {
	msg := "The provider did not sign you in."
	if code == "access_denied" {
		msg = "Sign-in was cancelled or refused."
	}
	safe := "provider_error_other"
	if len(code) <= 64 && strings.Trim(code, "abcdefghijklmnopqrstuvwxyz_") == "" {
		safe = "provider_" + code
	}
	return newError(http.StatusBadRequest, safe, msg, errors.New("provider returned error "+safe))
}

// safeReturn checks a return target: a local path of this application,
// never another host. It reports false, and "", for anything else.
func safeReturn(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if len(s) > 2048 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\") {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return "", false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	// A path that decodes to "//host" or "/\host" is also refused: some
	// servers and proxies decode it before redirecting.
	if dec := u.Path; strings.HasPrefix(dec, "//") || strings.HasPrefix(dec, "/\\") || strings.ContainsAny(dec, "\\") {
		return "", false
	}
	return s, true
}

// usedStates remembers the states already consumed, so that a state is
// good for one callback even if its flow cookie is replayed. A state only
// needs remembering while its flow cookie could still be accepted
// (LoginTimeout). Entries are kept in the order they came, so the expired
// ones leave from the front in constant time, and at most maxUsedStates
// are kept: past that the oldest go first, which bounds the memory that a
// flood of logins can take.
type usedStates struct {
	mu    sync.Mutex
	ttl   time.Duration
	seen  map[string]struct{}
	order []usedState // oldest first
}

type usedState struct {
	state string
	at    time.Time
}

const maxUsedStates = 100_000

func newUsedStates(ttl time.Duration) *usedStates {
	return &usedStates{ttl: ttl, seen: make(map[string]struct{})}
}

// use records state and reports whether it was new.
func (u *usedStates) use(state string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for len(u.order) > 0 && (now.Sub(u.order[0].at) > u.ttl || len(u.order) >= maxUsedStates) {
		delete(u.seen, u.order[0].state)
		u.order[0] = usedState{}
		u.order = u.order[1:]
	}
	if _, ok := u.seen[state]; ok {
		return false
	}
	u.seen[state] = struct{}{}
	u.order = append(u.order, usedState{state, now})
	return true
}
