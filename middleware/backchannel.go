package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/endsession/endsession/session"
)

// A ReplayCache remembers keys for a while, so that a back-channel logout
// token is accepted once. The default keeps them in memory, for one
// process; a shared backend (such as Redis) covers several replicas.
//
// A ReplayCache that also has a method
//
//	Forget(ctx context.Context, key string) error
//
// gets it called when the sessions of a token it recorded could not be
// ended (the store was down), so that the provider's retry is accepted.
type ReplayCache interface {
	// Seen records key until the time until and reports whether it was
	// already recorded and not yet past its own until. Of two concurrent
	// calls with the same key, at most one reports false. An error means
	// the backend cannot answer.
	Seen(ctx context.Context, key string, until time.Time) (bool, error)
}

// backchannelEvent is the member of the events claim that makes a JWT a
// logout token (OpenID Connect Back-Channel Logout 1.0 §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// clockSkew is how far in the future a logout token's iat may be.
const clockSkew = time.Minute

// BackchannelLogoutHandler returns the back-channel logout route, for
// applications that mount the routes on their own router: it must be
// mounted at PathPrefix + "/backchannel-logout", the backchannel_logout_uri
// registered at the provider. See [Middleware.Handler].
//
// The provider POSTs a logout token (OpenID Connect Back-Channel Logout
// 1.0). The token is found to be the provider's by its iss among the
// configured providers, and verified against that provider's keys and
// signing algorithms (never "none" nor an HMAC algorithm): issuer,
// audience, iat, exp when present (tokens without exp, which the 2022 text
// of the specification allowed, must have an iat no older than
// [Config.LogoutTokenMaxAge]), the back-channel logout event, sid or sub,
// no nonce, and a jti not seen before ([Config.ReplayCache]). The sessions
// it names then end everywhere through [session.Store.EndMatching]: by sid
// when the token has one, else every session of the subject at that
// provider. Sessions created after the logout are not affected.
// [Config.OnLogout] runs with [ReasonBackchannel] and one audit record is
// emitted.
//
// The answer is 200 with an empty body, 400 with a JSON error for a token
// that fails any check (the reason is logged, never the token), and 503
// when the store, the replay cache or the provider's keys cannot be
// reached, so that the provider may retry.
func (m *Middleware) BackchannelLogoutHandler() http.Handler {
	return http.HandlerFunc(m.backchannelLogout)
}

// errUnavailable marks a back-channel logout that failed for want of a
// backend, not because of its token.
var errUnavailable = errors.New("unavailable")

func (m *Middleware) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	r, cid := withCorrelation(r)
	reject := func(status int, err error) {
		code, desc := "invalid_request", "The logout token is invalid."
		if status >= 500 {
			code, desc = "temporarily_unavailable", "The logout could not be processed now. Please retry later."
		}
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
			desc = "Use POST."
		}
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		m.log.Log(r.Context(), level, "back-channel logout rejected", "event", "backchannel_logout", "code", code, "status", status,
			"correlation_id", cid, "reason", describe(err))
		if m.cfg.Observer != nil {
			outcome := OutcomeRejected
			if status >= 500 {
				outcome = OutcomeFailed
			}
			m.observe(r.Context(), Event{Kind: EventBackchannelLogout, Outcome: outcome, Code: code})
			m.observe(r.Context(), Event{Kind: EventRejected, Route: "backchannel_logout", Code: code, Status: status})
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost {
		reject(http.StatusMethodNotAllowed, errors.New("method "+r.Method))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		reject(http.StatusBadRequest, fmt.Errorf("reading the form: %w", err))
		return
	}
	tokens := r.PostForm["logout_token"]
	if len(tokens) != 1 || tokens[0] == "" {
		reject(http.StatusBadRequest, errors.New("the form must have exactly one logout_token"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), m.cfg.ProviderTimeout)
	defer cancel()
	p, c, err := m.verifyLogoutToken(ctx, tokens[0])
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errUnavailable) {
			status = http.StatusServiceUnavailable
		}
		reject(status, err)
		return
	}
	key, until := replayKey(c), c.until(m.cfg.LogoutTokenMaxAge)
	seen, err := m.cfg.ReplayCache.Seen(ctx, key, until)
	switch {
	case err != nil:
		reject(http.StatusServiceUnavailable, fmt.Errorf("replay cache: %w", err))
		return
	case seen:
		reject(http.StatusBadRequest, errors.New("logout token replayed (jti already seen)"))
		return
	}
	now := m.cfg.Now()
	match := session.Match{Issuer: p.Issuer, SID: c.SID, Subject: c.Subject, At: now, Until: now.Add(m.cfg.Lifetime.Absolute)}
	if err := m.endMatching(ctx, cid, ReasonBackchannel, p, match, nil); err != nil {
		if f, ok := m.cfg.ReplayCache.(interface {
			Forget(ctx context.Context, key string) error
		}); ok {
			f.Forget(context.WithoutCancel(ctx), key)
		}
		reject(http.StatusServiceUnavailable, fmt.Errorf("ending the sessions: %w", err))
		return
	}
	by := "sub"
	if c.SID != "" {
		by = "sid"
	}
	m.log.InfoContext(r.Context(), "back-channel logout", "event", "backchannel_logout", "provider", p.Name, "by", by, "correlation_id", cid)
	m.observe(r.Context(), Event{Kind: EventBackchannelLogout, Provider: p.Name, Outcome: OutcomeOK})
	w.WriteHeader(http.StatusOK)
}

// logoutClaims are the claims of a logout token.
type logoutClaims struct {
	Issuer   string                     `json:"iss"`
	Subject  string                     `json:"sub"`
	Audience json.RawMessage            `json:"aud"`
	IssuedAt *float64                   `json:"iat"`
	Expiry   *float64                   `json:"exp"`
	JTI      string                     `json:"jti"`
	SID      string                     `json:"sid"`
	Events   map[string]json.RawMessage `json:"events"`
	// Nonce is kept raw: its mere presence is an error.
	Nonce json.RawMessage `json:"nonce"`
}

// unixTime converts a NumericDate, clamped to the years 1970 to 9999.
func unixTime(f float64) time.Time {
	f = min(max(f, 0), 253402300799)
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9))
}

// until is how long the token must be remembered: as long as it would be
// accepted.
func (c *logoutClaims) until(maxAge time.Duration) time.Time {
	if c.Expiry != nil {
		return unixTime(*c.Expiry)
	}
	return unixTime(*c.IssuedAt).Add(maxAge)
}

func (c *logoutClaims) audience() ([]string, error) {
	var one string
	if err := json.Unmarshal(c.Audience, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(c.Audience, &many); err != nil {
		return nil, errors.New("aud is neither a string nor an array of strings")
	}
	return many, nil
}

// replayKey names a logout token in the replay cache: its issuer and jti,
// hashed to a fixed length.
func replayKey(c *logoutClaims) string {
	sum := sha256.Sum256([]byte(c.Issuer + "\x00" + c.JTI))
	return "logout-jti:" + hex.EncodeToString(sum[:])
}

// verifyLogoutToken verifies raw as OpenID Connect Back-Channel Logout 1.0
// §2.6 says, and returns its provider and claims. An error wrapping
// errUnavailable means the provider or its keys could not be reached.
func (m *Middleware) verifyLogoutToken(ctx context.Context, raw string) (*provider, *logoutClaims, error) {
	parts := strings.Split(raw, ".")
	switch {
	case len(raw) > 32<<10:
		return nil, nil, errors.New("logout token too long")
	case len(parts) == 5:
		return nil, nil, errors.New("encrypted logout tokens are not supported")
	case len(parts) != 3:
		return nil, nil, errors.New("logout token is not a JWT")
	}
	// The issuer, read before the signature is checked, only picks the
	// provider whose keys must have signed the token.
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, nil, errors.New("logout token payload is not base64url")
	}
	var unverified logoutClaims
	if err := json.Unmarshal(payload, &unverified); err != nil {
		return nil, nil, errors.New("logout token payload is not a JSON object of the expected claims")
	}
	p := m.providerForToken(&unverified)
	if p == nil {
		return nil, nil, errors.New("logout token issued by no configured provider")
	}
	resolved, err := m.resolve(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: provider %s: %w", errUnavailable, p.Name, err)
	}
	if resolved.KeySet == nil {
		return nil, nil, fmt.Errorf("%w: provider %s has no key set", errUnavailable, p.Name)
	}
	algs := asymmetricAlgs(resolved.Endpoints.SigningAlgs)
	if len(algs) == 0 {
		return nil, nil, fmt.Errorf("provider %s signs with no asymmetric algorithm", p.Name)
	}
	joseAlgs := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		joseAlgs[i] = jose.SignatureAlgorithm(a)
	}
	jws, err := jose.ParseSigned(raw, joseAlgs)
	if err != nil {
		return nil, nil, fmt.Errorf("logout token signature algorithm not allowed or malformed: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, errors.New("logout token must have exactly one signature")
	}
	keysDown := func(err error) error {
		if strings.Contains(err.Error(), "fetching keys") || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w: provider %s keys: %w", errUnavailable, p.Name, err)
		}
		return err
	}
	if unverified.Expiry != nil {
		// The current specification: go-oidc checks it all, exp included.
		v := oidc.NewVerifier(p.Issuer, resolved.KeySet, &oidc.Config{
			ClientID: p.ClientID, SupportedSigningAlgs: algs, Now: m.cfg.Now,
		})
		t, err := v.VerifyLogout(ctx, raw)
		if err != nil {
			return nil, nil, keysDown(err)
		}
		var c logoutClaims
		if err := t.Claims(&c); err != nil {
			return nil, nil, err
		}
		if err := m.checkLogoutClaims(p, &c); err != nil {
			return nil, nil, err
		}
		return p, &c, nil
	}
	// A token without exp: the signature through go-oidc's key set, the
	// claims here, with iat required to be recent.
	verified, err := resolved.KeySet.VerifySignature(ctx, raw)
	if err != nil {
		return nil, nil, keysDown(fmt.Errorf("logout token signature: %w", err))
	}
	var c logoutClaims
	if err := json.Unmarshal(verified, &c); err != nil {
		return nil, nil, errors.New("logout token payload is not a JSON object of the expected claims")
	}
	if err := m.checkLogoutClaims(p, &c); err != nil {
		return nil, nil, err
	}
	return p, &c, nil
}

// checkLogoutClaims checks the claims of a logout token whose signature is
// verified. The errors name claims, never their values.
func (m *Middleware) checkLogoutClaims(p *provider, c *logoutClaims) error {
	now := m.cfg.Now()
	if c.Issuer != p.Issuer {
		return errors.New("logout token iss is not the provider's issuer")
	}
	aud, err := c.audience()
	if err != nil {
		return fmt.Errorf("logout token %w", err)
	}
	if !slices.Contains(aud, p.ClientID) {
		return errors.New("logout token aud does not include this client")
	}
	if c.IssuedAt == nil {
		return errors.New("logout token has no iat")
	}
	iat := unixTime(*c.IssuedAt)
	if iat.After(now.Add(clockSkew)) {
		return errors.New("logout token issued in the future")
	}
	if c.Expiry == nil {
		if now.Sub(iat) > m.cfg.LogoutTokenMaxAge {
			return fmt.Errorf("logout token without exp issued more than %s ago", m.cfg.LogoutTokenMaxAge)
		}
	} else if !now.Before(unixTime(*c.Expiry)) {
		return errors.New("logout token expired")
	}
	if c.JTI == "" {
		return errors.New("logout token has no jti")
	}
	event, ok := c.Events[backchannelEvent]
	if !ok {
		return errors.New("logout token lacks the back-channel logout event")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(event, &obj); err != nil || obj == nil {
		return errors.New("logout token event is not a JSON object")
	}
	if c.Subject == "" && c.SID == "" {
		return errors.New("logout token has neither sub nor sid")
	}
	if len(c.Subject) > session.MaxMatchLen || len(c.SID) > session.MaxMatchLen {
		return fmt.Errorf("logout token sub or sid longer than %d bytes", session.MaxMatchLen)
	}
	if len(c.Nonce) != 0 {
		return errors.New("logout token has a nonce")
	}
	return nil
}

// providerForToken returns the provider with the token's issuer, the one
// whose client is in the audience when several share the issuer.
func (m *Middleware) providerForToken(c *logoutClaims) *provider {
	aud, _ := c.audience()
	var found *provider
	for _, p := range m.order {
		if !p.HasLogin() || p.Issuer != c.Issuer {
			continue
		}
		if slices.Contains(aud, p.ClientID) {
			return p
		}
		if found == nil {
			found = p
		}
	}
	return found
}

// asymmetricAlgs keeps the signing algorithms a logout token may use:
// those of the provider, less "none" and the HMAC ones, whose key is the
// client secret or, in the algorithm confusion attack, a public key.
func asymmetricAlgs(algs []string) []string {
	if len(algs) == 0 {
		return []string{oidc.RS256}
	}
	var out []string
	for _, a := range algs {
		if a != "" && !strings.EqualFold(a, "none") && !strings.HasPrefix(strings.ToUpper(a), "HS") {
			out = append(out, a)
		}
	}
	return out
}

// memoryReplayCache is the default [ReplayCache]: a map of at most max
// keys, dropped once past their time.
type memoryReplayCache struct {
	mu   sync.Mutex
	now  func() time.Time
	max  int
	keys map[string]time.Time
}

func newMemoryReplayCache(now func() time.Time) *memoryReplayCache {
	return &memoryReplayCache{now: now, max: 100_000, keys: make(map[string]time.Time)}
}

// Seen implements [ReplayCache]. When the cache is full of live keys, the
// one that lapses first is dropped.
func (c *memoryReplayCache) Seen(_ context.Context, key string, until time.Time) (bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.keys[key]; ok && now.Before(t) {
		return true, nil
	}
	if len(c.keys) >= c.max {
		first, firstAt := "", time.Time{}
		for k, t := range c.keys {
			if !now.Before(t) {
				delete(c.keys, k)
			} else if first == "" || t.Before(firstAt) {
				first, firstAt = k, t
			}
		}
		if len(c.keys) >= c.max {
			delete(c.keys, first)
		}
	}
	c.keys[key] = until
	return false, nil
}

// Forget drops key, so that a token whose sessions could not be ended is
// accepted again.
func (c *memoryReplayCache) Forget(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.keys, key)
	return nil
}
