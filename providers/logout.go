package providers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/endsession/endsession/session"
)

// A Logout ends a user's session at the provider. The middleware calls it
// after the local session, its cookies and the application's copies of the
// user's data are gone, and carries out the returned [Action].
//
// Parameter names, whether state or client_id are sent, and GET or POST
// are data of the strategy, not branches in the middleware.
type Logout interface {
	EndSession(ctx context.Context, req *LogoutRequest) (Action, error)
}

// LogoutRequest is what a logout strategy gets: what the provider needs to
// know, captured from the session before it was deleted.
type LogoutRequest struct {
	// Endpoints are the provider's endpoints when they are known (from
	// discovery or configuration); zero when discovery has not succeeded.
	Endpoints Endpoints
	// ClientID is the application's client id at the provider.
	ClientID string
	// IDToken is the stored raw ID token, sent as id_token_hint even when
	// it has expired. Empty when the session had none.
	IDToken string
	// SID is the provider's session id (the ID token's "sid"), or empty.
	SID string
	// Subject is the user's identifier at the provider.
	Subject string
	// ReturnURL is the application's fixed post-logout landing URL, the
	// one registered at the provider.
	ReturnURL string
	// State is a fresh value, random and signed by the application with
	// its issue time; a strategy that sends it sets Action.StateSent so
	// the landing route checks the echo.
	State string
	// Device is the device recorded in the session, if any.
	Device *session.Device
	// HTTPClient is for server-to-server calls; never nil.
	HTTPClient *http.Client
}

// Action is what the browser does after a logout strategy ran: a redirect
// (GET), an auto-submitted form (POST), or nothing at the provider (the
// user lands on the application's post-logout page).
type Action struct {
	// Method is http.MethodGet to redirect to URL, http.MethodPost to
	// submit Form to URL from the browser, or "" to land locally.
	Method string
	// URL is where the browser goes (GET) or the form is posted (POST).
	URL string
	// Form is the POST form's fields; nil for a redirect.
	Form url.Values
	// StateSent reports that URL or Form carry LogoutRequest.State and the
	// provider will echo it back.
	StateSent bool
	// Notice, for a local landing, tells the application why the provider
	// was not reached (see the middleware's post-logout notice).
	Notice string
	// Calls describes the server-to-server calls made, for the audit event
	// (method, URL without secrets, and the provider's answer).
	Calls []string
}

// Local returns an Action that lands on the application's post-logout
// page with an optional notice.
func Local(notice string) Action { return Action{Notice: notice} }

// Notices a logout strategy can leave for the application.
const (
	// NoticeProviderUnreachable: the provider could not be told; the
	// local session is gone all the same.
	NoticeProviderUnreachable = "provider-unreachable"
	// NoticeLocalOnly: the provider has no logout endpoint; only the
	// local session ended.
	NoticeLocalOnly = "local-only"
)

// RPInitiated is RP-Initiated Logout 1.0 and its relatives: the browser
// goes to the provider's logout endpoint with the ID token as a hint and
// the application's landing URL. Its fields describe providers that name
// or send things differently. The zero value is the standard.
type RPInitiated struct {
	// URL is the logout endpoint; default the discovered
	// end_session_endpoint. With neither, logout is local only.
	URL string
	// Method is http.MethodGet (default, a redirect) or http.MethodPost
	// (an auto-submitted form).
	Method string
	// RedirectParam names the landing URL parameter; default
	// "post_logout_redirect_uri".
	RedirectParam string
	// StateParam names the state parameter; default "state".
	StateParam string
	// OmitState does not send state, for providers that do not echo it.
	OmitState bool
	// OmitIDTokenHint does not send id_token_hint.
	OmitIDTokenHint bool
	// ClientID sends client_id.
	ClientID bool
	// LogoutHint sends the provider's session id as logout_hint.
	LogoutHint bool
	// UILocales, when set, is sent as ui_locales.
	UILocales string
	// RequireIDToken skips the provider (a local logout with a notice)
	// when the session has no ID token, for providers that reject a
	// logout without one.
	RequireIDToken bool
	// Extra parameters, sent as they are.
	Extra url.Values
}

// Validate reports a Method other than GET or POST, and a URL that is not
// absolute. [Provider.Validate] calls it.
func (s RPInitiated) Validate() error {
	switch strings.ToUpper(s.Method) {
	case "", http.MethodGet, http.MethodPost:
	default:
		return fmt.Errorf("RPInitiated.Method %q is neither GET nor POST", s.Method)
	}
	if s.URL != "" {
		if err := absoluteURL(s.URL); err != nil {
			return fmt.Errorf("RPInitiated.URL: %w", err)
		}
	}
	return nil
}

// EndSession implements [Logout].
func (s RPInitiated) EndSession(_ context.Context, req *LogoutRequest) (Action, error) {
	endpoint := s.URL
	if endpoint == "" {
		endpoint = req.Endpoints.EndSessionURL
	}
	if endpoint == "" || (s.RequireIDToken && req.IDToken == "") {
		return Local(NoticeLocalOnly), nil
	}
	params := url.Values{}
	if !s.OmitIDTokenHint && req.IDToken != "" {
		params.Set("id_token_hint", req.IDToken)
	}
	if req.ReturnURL != "" {
		params.Set(or(s.RedirectParam, "post_logout_redirect_uri"), req.ReturnURL)
	}
	sent := !s.OmitState && req.State != ""
	if sent {
		params.Set(or(s.StateParam, "state"), req.State)
	}
	if s.ClientID {
		params.Set("client_id", req.ClientID)
	}
	if s.LogoutHint && req.SID != "" {
		params.Set("logout_hint", req.SID)
	}
	if s.UILocales != "" {
		params.Set("ui_locales", s.UILocales)
	}
	for k, vs := range s.Extra {
		params[k] = append(params[k], vs...)
	}
	if strings.EqualFold(s.Method, http.MethodPost) {
		return Action{Method: http.MethodPost, URL: endpoint, Form: params, StateSent: sent}, nil
	}
	return Action{Method: http.MethodGet, URL: WithQuery(endpoint, params), StateSent: sent}, nil
}

// WithQuery returns endpoint with params added to its query string,
// encoded as [url.Values.Encode] does (keys sorted).
func WithQuery(endpoint string, params url.Values) string {
	if len(params) == 0 {
		return endpoint
	}
	keys := make([]string, 0, len(params))
	n := len(endpoint) + 1
	for k, vs := range params {
		keys = append(keys, k)
		for _, v := range vs {
			n += len(k) + len(v) + 2
		}
	}
	slices.Sort(keys)
	// One buffer of the right size, unless something needs escaping: the
	// ID token hint, the longest value, never does.
	var b strings.Builder
	b.Grow(n)
	b.WriteString(endpoint)
	sep := byte('?')
	if strings.Contains(endpoint, "?") {
		sep = '&'
	}
	for _, k := range keys {
		for _, v := range params[k] {
			b.WriteByte(sep)
			sep = '&'
			writeQueryEscaped(&b, k)
			b.WriteByte('=')
			writeQueryEscaped(&b, v)
		}
	}
	return b.String()
}

// writeQueryEscaped writes url.QueryEscape(s) to b, copying s as it is
// when it has only the characters QueryEscape leaves alone.
func writeQueryEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if !unreserved[s[i]] {
			b.WriteString(url.QueryEscape(s))
			return
		}
	}
	b.WriteString(s)
}

// unreserved marks the bytes url.QueryEscape does not escape.
var unreserved = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~" {
		t[c] = true
	}
	return t
}()

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
