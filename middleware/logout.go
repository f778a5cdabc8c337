package middleware

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// LogoutReport is the audit record of one logout: every step, in order,
// and how it went. It holds no token and no personal data.
type LogoutReport struct {
	// CorrelationID is the request's correlation id, as in its log
	// records and on its pages.
	CorrelationID string
	// Reason is why the session ended.
	Reason LogoutReason
	// Provider is the provider the session belonged to; empty without a
	// session.
	Provider string
	// HadSession reports whether the session's data was at hand: the
	// request's own session, or sessions a server-side store ended.
	HadSession bool
	// Steps are the steps that ran, in order.
	Steps []LogoutStep
}

// LogoutStep is one step of a logout.
type LogoutStep struct {
	// Name is one of "session.read", "session.delete", "session.end"
	// (the sessions a provider's logout named, ended by the store),
	// "app.erase",
	// "provider.discovery", "provider.refresh_id_token" (a fresh ID token
	// for the id_token_hint), "provider.revoke" (RFC 7009),
	// "provider.call" (a server-to-server call of the logout strategy) and
	// "provider.end_session".
	Name string
	// OK reports whether the step succeeded.
	OK bool
	// Detail says what was done or why it failed, without secrets.
	Detail string
}

func (rep *LogoutReport) add(name string, err error, detail string) {
	s := LogoutStep{Name: name, OK: err == nil, Detail: detail}
	if err != nil {
		s.Detail = strings.TrimSpace(detail + " " + describe(err))
	}
	rep.Steps = append(rep.Steps, s)
}

// LogValue makes a report one structured log record.
func (rep LogoutReport) LogValue() slog.Value {
	steps := make([]any, 0, len(rep.Steps))
	for _, s := range rep.Steps {
		steps = append(steps, slog.Group(s.Name, "ok", s.OK, "detail", s.Detail))
	}
	return slog.GroupValue(
		slog.String("reason", string(rep.Reason)),
		slog.String("provider", rep.Provider),
		slog.Bool("had_session", rep.HadSession),
		slog.Group("steps", steps...),
	)
}

// logoutState travels in a short-lived signed and encrypted cookie, apart
// from the (deleted) session, to the post-logout landing route.
type logoutState struct {
	// State is the value sent to the provider, empty when none was sent.
	State    string `json:"s,omitempty"`
	ReturnTo string `json:"r"`
	Notice   string `json:"n,omitempty"`
	// CorrelationID is the logout's, for the landing's log record.
	CorrelationID string `json:"c,omitempty"`
}

func (m *Middleware) logoutCookieName() string { return m.stateCookieName("endsession_logout") }

// FormActionField is the field a sign-out form adds, with the value
// "self", when its page's Content-Security-Policy has form-action 'self'
// (as the middleware's own confirmation page does). Browsers apply
// form-action to the redirects that follow a form submission too, so such
// a form cannot be redirected to the provider: the logout then answers
// with a page of the application that navigates to the provider's logout
// instead of a redirect.
const FormActionField = "form_action"

// PostLogoutNoticeParam is the query parameter the post-logout page gets
// when the provider could not be told of the logout ("provider-unreachable")
// or has no logout endpoint ("local-only"); the local session is gone in
// both cases. It is "late-return" ([NoticeLateReturn]) when the provider
// came back with a state this application issued after the browser's
// logout state had lapsed.
const PostLogoutNoticeParam = "logout_notice"

// logout is the heart of the middleware. The order never changes:
// (1) read what the provider will need, (2) delete everything locally, in
// this very response, and let the application erase its copies, (3) refresh
// an expired ID token for the hint, revoke the tokens and ask the provider
// to end its session, (4) land. Nothing in (3) can undo (2).
func (m *Middleware) logout(w http.ResponseWriter, r *http.Request) {
	authHeaders(w)
	r, cid := withCorrelation(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	switch r.Method {
	case http.MethodPost:
		if !m.sameOrigin(r) {
			m.fail(w, r, "logout", newError(http.StatusForbidden, "cross_site_logout",
				"Sign-out must start from this site.", errors.New("cross-site logout POST")))
			return
		}
	case http.MethodGet, http.MethodHead:
		// Only a link followed on the application's own pages logs out by
		// GET: not a HEAD, an image, a fetch, a frame, a prefetch or a
		// prerender, and not a browser that does not say where it comes
		// from.
		if r.Method == http.MethodHead || !sameOriginNavigation(r) {
			m.log.InfoContext(r.Context(), "logout confirmation shown", "event", "logout", "code", "cross_site_get", "correlation_id", cid)
			ret, _ := safeReturn(r.URL.Query().Get("return_to"))
			render(w, http.StatusOK, m.page(pageConfirmLogout), map[string]any{
				"Title": "Sign out", "CorrelationID": cid, "Action": m.cfg.PathPrefix + "/logout", "ReturnTo": ret,
				"FormActionField": FormActionField, "FormAction": "'self'",
			})
			return
		}
	default:
		m.fail(w, r, "logout", newError(http.StatusMethodNotAllowed, "method_not_allowed", "Use the sign-out button.", nil))
		return
	}
	returnTo, ok := safeReturn(formValue(r, "return_to"))
	if !ok {
		returnTo = m.cfg.PostLogoutPath
	}
	// A form on a page whose CSP keeps form submissions on the site
	// cannot be redirected to the provider: go there from a page instead.
	fromPage := r.Method == http.MethodPost && formValue(r, FormActionField) == "self"
	rep := LogoutReport{CorrelationID: cid, Reason: ReasonUser}
	defer m.reportLogout(r.Context(), &rep)

	// (1) Read what the provider will need, and (2) delete everything
	// locally, before anything else can fail.
	set := len(w.Header()["Set-Cookie"])
	d, err, deleteErr := m.readAndDelete(w, r)
	switch {
	case errors.Is(err, session.ErrUnavailable):
		rep.add("session.read", err, "store unavailable;")
	case err != nil:
		rep.add("session.read", nil, "invalid session cookie, treated as none")
	case d == nil:
		rep.add("session.read", nil, "no session")
	default:
		rep.HadSession, rep.Provider = true, d.Provider
		rep.add("session.read", nil, "session found")
	}
	if errors.Is(err, session.ErrUnavailable) || deleteErr != nil {
		// Nothing is deleted, so nothing else is done: the cookies are
		// kept, and signing out again, once the store is back, does it all.
		if deleteErr == nil {
			deleteErr = err
		}
		rep.add("session.delete", deleteErr, "nothing deleted; the session cookies are kept so that signing out again can delete the session; the store failed:")
		m.fail(w, r, "logout", newError(http.StatusServiceUnavailable, "store_unavailable",
			"Sign-out could not reach the session store, so you are still signed in. Please try again shortly.", deleteErr))
		return
	}
	rep.add("session.delete", nil, "the store deleted the session; cookies expired: "+expiredCookies(w, set))
	if d != nil {
		e := eventFor(ReasonUser, d)
		e.Request, e.Response = r, w
		m.erase(r.Context(), e, &rep)
	}

	// (3) Ask the provider to end its session.
	st := logoutState{ReturnTo: returnTo, CorrelationID: cid}
	act := action{Action: providers.Local("")}
	if d != nil {
		ctx := r.Context()
		p, resolved := m.logoutProvider(ctx, d, &rep)
		if resolved != nil {
			// (3a) A fresh ID token for the hint, (3b) the tokens revoked.
			m.refreshForHint(ctx, p, resolved, d, &rep)
			m.revokeTokens(ctx, p, resolved, d, &rep)
		}
		act = m.endProviderSession(ctx, p, resolved, d, &rep)
	}
	if act.StateSent {
		st.State = act.stateValue
	}
	st.Notice = act.Notice
	if act.Notice != "" {
		// The provider's session may have survived: TrySilentLogin must
		// not sign the user in again until they sign in themselves.
		m.holdSilentLogins(w, 0)
	}

	// (4) Land: at the provider, or straight on the post-logout route.
	value, err := m.encodeState(m.logoutCookieName(), st)
	if err == nil {
		http.SetCookie(w, &http.Cookie{
			Name: m.logoutCookieName(), Value: value, Path: stateCookiePath,
			MaxAge: int(m.cfg.LoginTimeout / time.Second), HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode,
		})
	}
	switch {
	case act.Method == http.MethodGet && fromPage:
		render(w, http.StatusOK, m.page(pageNavigate), map[string]any{
			"Title": "Signing out", "CorrelationID": correlationID(r), "URL": act.URL, "Nonce": rand.Text(),
		})
	case act.Method == http.MethodGet:
		seeOther(w, r, act.URL)
	case act.Method == http.MethodPost:
		// The provider answers the form with a redirect back to the
		// landing route, which the browser checks against form-action
		// too.
		render(w, http.StatusOK, m.page(pageFormPost), map[string]any{
			"Title": "Signing out", "CorrelationID": correlationID(r), "URL": act.URL, "Form": act.Form, "Nonce": rand.Text(),
			"FormAction": originOf(act.URL) + " " + m.appOrigin,
		})
	default:
		http.Redirect(w, r, m.cfg.PathPrefix+"/logged-out", http.StatusSeeOther)
	}
}

// action is a provider's Action plus the state value it carries.
type action struct {
	providers.Action
	stateValue string
}

// logoutProvider returns the session's provider and, when it has an OpenID
// login, what discovery found (nil when discovery failed: the step is
// reported). It reports a session of an unknown provider.
func (m *Middleware) logoutProvider(ctx context.Context, d *session.Data, rep *LogoutReport) (*provider, *providers.Resolved) {
	p, ok := m.providers[d.Provider]
	if !ok {
		rep.add("provider.end_session", errors.New("unknown provider "+d.Provider), "")
		return nil, nil
	}
	if !p.HasLogin() {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.LogoutTimeout)
	defer cancel()
	resolved, err := m.resolve(ctx, p)
	if err != nil {
		rep.add("provider.discovery", err, "")
		return p, nil
	}
	return p, resolved
}

// refreshForHint gets a fresh ID token for the id_token_hint when the
// stored one has expired and a refresh token is at hand, bounded by
// LogoutTimeout, unless the provider documents that it accepts an expired
// hint (Provider.ExpiredHintAccepted). On failure the stored one is sent.
// The refreshed tokens replace d's, so that the new refresh token is the
// one revoked.
func (m *Middleware) refreshForHint(ctx context.Context, p *provider, resolved *providers.Resolved, d *session.Data, rep *LogoutReport) {
	if p.ExpiredHintAccepted || d.RefreshToken == "" || d.IDToken == "" || d.IDTokenExpiry.IsZero() || m.cfg.Now().Before(d.IDTokenExpiry) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.LogoutTimeout)
	defer cancel()
	nd, err := m.redeem(ctx, p, resolved, d)
	switch {
	case err != nil:
		rep.add("provider.refresh_id_token", err, "the stored, expired ID token is sent;")
		m.log.WarnContext(ctx, "no fresh ID token for the logout hint; the stored one is sent", "event", "logout",
			"provider", p.Name, "correlation_id", rep.CorrelationID, "reason", describe(err))
		return
	case nd.IDToken == d.IDToken:
		rep.add("provider.refresh_id_token", nil, "tokens refreshed without a new ID token; the stored one is sent")
	default:
		rep.add("provider.refresh_id_token", nil, "a fresh ID token is sent as the hint")
	}
	*d = *nd
}

// endProviderSession runs the session's provider logout strategy, bounded
// by LogoutTimeout. A failure never undoes the local logout: the user
// lands on the post-logout page with a notice. p is nil for an unknown
// provider; resolved is nil when discovery failed or the provider has no
// OpenID login.
func (m *Middleware) endProviderSession(ctx context.Context, p *provider, resolved *providers.Resolved, d *session.Data, rep *LogoutReport) action {
	if p == nil {
		return action{Action: providers.Local(providers.NoticeProviderUnreachable)}
	}
	req := &providers.LogoutRequest{
		ClientID:   p.ClientID,
		IDToken:    d.IDToken,
		SID:        d.SID,
		Subject:    d.Subject,
		ReturnURL:  m.loggedOutURL,
		State:      m.newLogoutState(),
		HTTPClient: m.cfg.HTTPClient,
	}
	if d.Device != nil {
		dev := *d.Device
		req.Device = &dev
	}
	if resolved != nil {
		req.Endpoints = resolved.Endpoints
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(m.providerCall(ctx, p.Name, "end_session"), m.cfg.HTTPClient), m.cfg.LogoutTimeout)
	defer cancel()
	// Without discovery the logout endpoint is unknown, not absent.
	discovered := resolved != nil || !p.HasLogin()
	strategy := p.Logout
	if strategy == nil {
		strategy = providers.RPInitiated{}
	}
	act, err := strategy.EndSession(ctx, req)
	for _, call := range act.Calls {
		rep.add("provider.call", nil, call)
	}
	switch {
	case err != nil:
		rep.add("provider.end_session", err, "")
		m.log.WarnContext(ctx, "provider logout failed; local logout done", "event", "logout", "provider", p.Name,
			"correlation_id", rep.CorrelationID, "reason", describe(err))
		act = providers.Local(providers.NoticeProviderUnreachable)
	case act.Method == "" && act.Notice == providers.NoticeLocalOnly && !discovered:
		rep.add("provider.end_session", errors.New("logout endpoint unknown: discovery failed"), "")
		m.log.WarnContext(ctx, "provider unreachable; local logout done", "event", "logout", "provider", p.Name,
			"correlation_id", rep.CorrelationID, "reason", "discovery failed")
		act = providers.Local(providers.NoticeProviderUnreachable)
	case act.Method == "" && act.Notice == providers.NoticeLocalOnly:
		rep.add("provider.end_session", nil, "the provider has no logout endpoint: local logout only")
		m.log.WarnContext(ctx, "provider has no end_session_endpoint; local logout only", "event", "logout",
			"provider", p.Name, "correlation_id", rep.CorrelationID)
	case act.Method == "":
		rep.add("provider.end_session", nil, "ended server to server")
	default:
		rep.add("provider.end_session", nil, describeAction(act))
	}
	return action{Action: act, stateValue: req.State}
}

// formValue is r.FormValue for a form that is not multipart, such as a
// sign-out button's, without FormValue's attempt at multipart parsing.
func formValue(r *http.Request, key string) string {
	if ct := r.Header.Get("Content-Type"); len(ct) >= 10 && strings.EqualFold(ct[:10], "multipart/") {
		return r.FormValue(key)
	}
	r.ParseForm()
	return r.Form.Get(key)
}

// seeOther redirects to an absolute URL the middleware built, such as the
// provider's logout URL with its ID token hint. After a POST it only sets
// Location: http.Redirect would parse the long URL to resolve a relative
// path it cannot have, and writes no body after a POST anyway.
func seeOther(w http.ResponseWriter, r *http.Request, url string) {
	if r.Method != http.MethodPost || !printableASCII(url) {
		http.Redirect(w, r, url, http.StatusSeeOther)
		return
	}
	w.Header().Set("Location", url)
	w.WriteHeader(http.StatusSeeOther)
}

// printableASCII reports whether s needs no escaping in a header.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// sameOrigin reports whether the browser says the request comes from the
// application's own pages: Sec-Fetch-Site "same-origin", or else an
// Origin equal to the application's. A request that says neither is not
// trusted.
func (m *Middleware) sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "":
		return r.Header.Get("Origin") == m.appOrigin
	default:
		return false
	}
}

// sameOriginNavigation reports whether the browser says, in its Fetch
// Metadata, that r loads a top-level document from a page of the same
// origin: a link followed or a URL set by the application's own pages,
// not a subresource, a frame, a prefetch or a prerender. A request without
// Fetch Metadata is not one.
func sameOriginNavigation(r *http.Request) bool {
	h := r.Header
	return h.Get("Sec-Fetch-Site") == "same-origin" && h.Get("Sec-Fetch-Mode") == "navigate" &&
		h.Get("Sec-Fetch-Dest") == "document" && !speculative(r)
}

// speculative reports a prefetch or prerender, which must not act.
func speculative(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Sec-Purpose"), "prefetch") ||
		strings.Contains(r.Header.Get("Purpose"), "prefetch")
}

// expiredCookies names the cookies expired in w's Set-Cookie headers
// after the first n.
func expiredCookies(w http.ResponseWriter, n int) string {
	var names []string
	for _, line := range w.Header()["Set-Cookie"][n:] {
		if c, err := http.ParseSetCookie(line); err == nil && c.MaxAge < 0 {
			names = append(names, c.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// describeAction says what the browser is sent to do at the provider: the
// method, the URL without its query, and the names of the parameters,
// never their values.
// hasCTL reports whether s holds an ASCII control character, which
// url.Parse refuses.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func describeAction(act providers.Action) string {
	var names []string
	if act.Method == http.MethodGet {
		names = queryNames(act.URL)
	} else {
		for k := range act.Form {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return act.Method + " " + stripQuery(act.URL) + " with " + strings.Join(names, ", ")
}

// queryNames returns the keys of url.Parse(raw).Query(), or none when raw
// does not parse, without unescaping the values: the ID token hint alone
// is 1 to 2 KB.
func queryNames(raw string) []string {
	beforeFragment, fragment, hasFragment := strings.Cut(raw, "#")
	base, query, _ := strings.Cut(beforeFragment, "?")
	if hasFragment {
		base += "#" + fragment
	}
	if _, err := url.Parse(base); err != nil || hasCTL(query) {
		return nil
	}
	var names []string
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		if strings.Contains(v, "%") {
			if _, err := url.QueryUnescape(v); err != nil {
				continue
			}
		}
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	return names
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

func stripQuery(raw string) string {
	s, _, _ := strings.Cut(raw, "?")
	return s
}
