package middleware

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// The standard authorization request parameters (OpenID Connect Core
// 3.1.2.1) that a login request may carry, each with its check. Anything
// else in the login request is ignored, except the provider's own
// (providers.Provider.LoginParams).
var loginParamChecks = map[string]func(string) bool{
	"prompt":     validPrompt,
	"login_hint": func(v string) bool { return printableUpTo(v, 256) },
	"max_age":    func(v string) bool { _, ok := parseMaxAge(v); return ok },
	"acr_values": func(v string) bool { return printableUpTo(v, 512) },
	"ui_locales": validLocales,
	"display":    func(v string) bool { return slices.Contains([]string{"page", "popup", "touch", "wap"}, v) },
}

// maxMaxAge bounds max_age: a year, far above any real use.
const maxMaxAge = 366 * 24 * 3600

// authTimeLeeway is how much the provider's clock may differ from ours
// when auth_time is checked against max_age.
const authTimeLeeway = time.Minute

// silentErrors are the errors with which a provider answers prompt=none
// when it would need the user (OpenID Connect Core 3.1.2.6): a silent
// login then comes back anonymous, not on an error page.
var silentErrors = []string{"login_required", "interaction_required", "consent_required", "account_selection_required"}

// loginParams returns the authorization request options that the login
// request q asks for, checked, and fills in what the flow must remember
// to check the answer (max_age, prompt=none). Each parameter may be given
// once.
func loginParams(q url.Values, declared []string, f *flow) ([]oauth2.AuthCodeOption, error) {
	var opts []oauth2.AuthCodeOption
	for name, vs := range q {
		check, standard := loginParamChecks[name]
		if !standard && !slices.Contains(declared, name) {
			continue
		}
		if !standard {
			check = func(v string) bool { return printableUpTo(v, 512) }
		}
		if len(vs) != 1 || vs[0] == "" || !check(vs[0]) {
			return nil, errors.New("login parameter " + strconv.Quote(name) + " is not valid")
		}
		v := vs[0]
		switch name {
		case "max_age":
			n, _ := parseMaxAge(v)
			f.MaxAge = &n
		case "acr_values":
			f.ACR = strings.Fields(v)
		case "prompt":
			f.Silent = slices.Contains(strings.Fields(v), "none")
		}
		opts = append(opts, oauth2.SetAuthURLParam(name, v))
	}
	return opts, nil
}

// validPrompt accepts the prompt values of OpenID Connect Core 3.1.2.1
// and Initiating User Registration 1.0 ("create"), space-separated, each
// once, and "none" only alone.
func validPrompt(v string) bool {
	values := strings.Fields(v)
	if len(values) == 0 || len(v) > 64 {
		return false
	}
	for i, p := range values {
		if !slices.Contains([]string{"none", "login", "consent", "select_account", "create"}, p) || slices.Contains(values[:i], p) {
			return false
		}
	}
	return !slices.Contains(values, "none") || len(values) == 1
}

// parseMaxAge parses a max_age: a non-negative number of seconds, in
// plain digits, at most maxMaxAge.
func parseMaxAge(v string) (int64, bool) {
	if v == "" || len(v) > 10 || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n <= maxMaxAge
}

// validLocales accepts a space-separated list of BCP 47 language tags,
// in their letters, digits and hyphens.
func validLocales(v string) bool {
	if len(v) > 128 || strings.TrimSpace(v) == "" {
		return false
	}
	for _, tag := range strings.Fields(v) {
		if len(tag) > 35 || strings.Trim(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
	}
	return true
}

// printableUpTo reports whether v is printable ASCII (spaces included)
// and at most n bytes long.
func printableUpTo(v string, n int) bool {
	if len(v) > n {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkAuthentication checks that the provider authenticated the user as
// the login asked: with one of the acr_values it named (a login that
// names them requires one, so that a step-up cannot loop), and, when it
// asked for max_age, within it, which makes auth_time required (OpenID
// Connect Core 3.1.3.7, items 12 and 13).
func checkAuthentication(f *flow, acr string, authTime *float64, now time.Time) error {
	if len(f.ACR) > 0 && !slices.Contains(f.ACR, acr) {
		return errors.New("the ID token's acr is not one of the acr_values requested")
	}
	if f.MaxAge == nil {
		return nil
	}
	if authTime == nil {
		return errors.New("max_age was requested and the ID token has no auth_time")
	}
	at := time.Unix(int64(*authTime), 0)
	if now.Sub(at) > time.Duration(*f.MaxAge)*time.Second+authTimeLeeway {
		return errors.New("the user authenticated longer ago than max_age allows")
	}
	return nil
}

// LoginURL returns the address of the login route, for links and
// templates: after signing in the user comes back to returnTo (a local
// path; others are replaced with "/"), and params go to the login
// request: provider, to pick one, and the authorization parameters the
// login forwards (prompt, login_hint, max_age, acr_values, ui_locales,
// display, and those the provider declares in LoginParams).
//
//	<a href="{{.SignUpURL}}">Create an account</a>  with  mw.LoginURL("/welcome", url.Values{"prompt": {"create"}})
func (m *Middleware) LoginURL(returnTo string, params url.Values) string {
	q := url.Values{}
	for k, vs := range params {
		q[k] = append([]string(nil), vs...)
	}
	if ret, ok := safeReturn(returnTo); ok {
		q.Set("return_to", ret)
	} else {
		q.Set("return_to", "/")
	}
	return m.cfg.PathPrefix + "/login?" + q.Encode()
}

// silentCookieName names the cookie that holds silent logins back in a
// browser: set when one was tried (TrySilentLogin), and after a logout
// that could not end the provider's session, so that a user who signed
// out is not signed in again without asking.
func (m *Middleware) silentCookieName() string { return m.stateCookieName("endsession_nosilent") }

// silentRetryAfter is how long a browser whose silent login came back
// anonymous is not tried again.
const silentRetryAfter = 10 * time.Minute

// holdSilentLogins sets the silent cookie: for maxAge seconds, or, with
// maxAge 0, until the browser closes. Its presence is what counts: it has
// no value, and holds nothing of the user's.
func (m *Middleware) holdSilentLogins(w http.ResponseWriter, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: m.silentCookieName(), Value: "", Path: stateCookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
}

// TrySilentLogin lets every request through to next, and first tries, once,
// to sign in a browser that has no session without showing it anything:
// its navigation goes to the provider with prompt=none and comes back to
// the same address, signed in when the provider still has a session for
// the user, and anonymous otherwise (the provider's login_required and
// its kin are not errors then). A browser is not tried again for 10
// minutes, nor, after a sign-out that could not end the provider's
// session (a provider without logout, or unreachable), until it next
// signs in; API calls
// (see [Config.IsAPIRequest]) and requests other than GET are never sent
// anywhere. Use it inside [Middleware.Handler], on pages that show more
// to a signed-in user but do not require one.
func (m *Middleware) TrySilentLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(sessionKey{}) != nil || r.Method != http.MethodGet || m.cfg.IsAPIRequest(r) ||
			r.Context().Value(mountedKey{}) == nil {
			next.ServeHTTP(w, r)
			return
		}
		if _, err := r.Cookie(m.silentCookieName()); err == nil {
			next.ServeHTTP(w, r)
			return
		}
		// The login route sets the cookie that holds the next tries back:
		// set here, it would hold this very try back too.
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, m.LoginURL(r.URL.RequestURI(), url.Values{"prompt": {"none"}}), http.StatusSeeOther)
	})
}
