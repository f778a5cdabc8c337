package middleware

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/internal/answer"
)

// Error is an error the middleware answers itself: a bad callback, a
// forged token, a provider that does not answer. Message is plain and safe
// to show; Err is the internal cause, logged but never shown.
type Error struct {
	// Status is the HTTP status of the answer (4xx for bad input, 502 or
	// 504 for a provider that failed or could not be reached, 500 with
	// Code "misconfigured" for a provider that answered what the site's
	// configuration does not expect, 503 for a store that is down).
	Status int
	// Code is a stable, machine-readable name such as "invalid_state".
	Code string
	// Message is a short sentence for the user.
	Message string
	// CorrelationID ties the answer to the log lines of the request.
	CorrelationID string
	// API reports that the request is an API call rather than a
	// browser's navigation, by [Config.IsAPIRequest]: answer it with JSON.
	API bool
	// Err is the cause, for errors.Is and errors.As; never shown. Its
	// own text may hold what a provider wrote (an OAuth error
	// description, a response body): log e, whose Error() leaves that
	// out, rather than Err.
	Err error

	// fix, when set, tells the operator what to change in the site's
	// configuration; logged with the error, never shown.
	fix string
}

// Error returns the code and a log-safe summary of the cause: of a
// provider's answer, only its status and OAuth error code.
func (e *Error) Error() string {
	if e.Err == nil {
		return "endsession: " + e.Code
	}
	return "endsession: " + e.Code + ": " + describe(e.Err)
}

// Unwrap returns the cause, for [errors.Is] and [errors.As].
func (e *Error) Unwrap() error { return e.Err }

func newError(status int, code, message string, err error) *Error {
	return &Error{Status: status, Code: code, Message: message, Err: err}
}

// DefaultErrorHandler answers an error with a small page, or JSON for an
// API call (e.API) or a client that asks for JSON, showing only the
// message and the correlation id.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, e *Error) {
	errorHandler(pageError)(w, r, e)
}

// errorHandler is DefaultErrorHandler with page t.
func errorHandler(t *template.Template) func(http.ResponseWriter, *http.Request, *Error) {
	return func(w http.ResponseWriter, r *http.Request, e *Error) {
		if e.API || wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(e.Status)
			json.NewEncoder(w).Encode(map[string]string{
				"error": e.Code, "error_description": e.Message, "correlation_id": e.CorrelationID,
			})
			return
		}
		render(w, e.Status, t, map[string]any{"Title": headline(e.Status), "Error": e, "CorrelationID": e.CorrelationID})
	}
}

// wantsJSON reports whether the client prefers JSON to a page.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

type correlationKey struct{}

// correlationID returns the request's correlation id: a well-formed
// X-Request-Id from the client or a proxy, or a new random one.
func correlationID(r *http.Request) string {
	if id, ok := r.Context().Value(correlationKey{}).(string); ok {
		return id
	}
	return newCorrelationID(r.Header)
}

// newCorrelationID returns the correlation id of a request with header h:
// its X-Request-Id when that is 1 to 64 letters, digits, '-', '_' or '.';
// else the trace id of a valid W3C traceparent (32 lower-case hex digits,
// not all zero, in a version other than ff), so that the middleware's
// records join the request's trace; else a new random id.
func newCorrelationID(h http.Header) string {
	if id := h.Get("X-Request-Id"); id != "" && len(id) <= 64 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == "" {
		return id
	}
	if id, ok := traceID(h.Get("Traceparent")); ok {
		return id
	}
	return rand.Text()[:16]
}

// traceID returns the trace id of a W3C Trace Context traceparent header,
// "version-traceid-parentid-flags", when it is well-formed.
func traceID(tp string) (string, bool) {
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || (len(tp) > 55 && tp[55] != '-') {
		return "", false
	}
	version, id := tp[:2], tp[3:35]
	if !lowerHex(version) || version == "ff" || (version == "00" && len(tp) != 55) ||
		!lowerHex(id) || id == "00000000000000000000000000000000" || !lowerHex(tp[36:52]) || !lowerHex(tp[53:55]) {
		return "", false
	}
	return id, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// withCorrelation puts the request's correlation id in its context, unless
// it is there already (under Handler).
func withCorrelation(r *http.Request) (*http.Request, string) {
	if id, ok := r.Context().Value(correlationKey{}).(string); ok {
		return r, id
	}
	id := newCorrelationID(r.Header)
	return r.WithContext(context.WithValue(r.Context(), correlationKey{}, id)), id
}

// fail logs e and answers it through the configured error handler.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, event string, e *Error) {
	e.CorrelationID = correlationID(r)
	e.API = m.cfg.IsAPIRequest(r)
	level := slog.LevelWarn
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"event", event, "code", e.Code, "status", e.Status,
		"correlation_id", e.CorrelationID, "reason", describe(e.Err)}
	if e.fix != "" {
		attrs = append(attrs, "fix", e.fix)
	}
	m.log.Log(r.Context(), level, event+" rejected", attrs...)
	if m.cfg.Observer != nil {
		m.observe(r.Context(), Event{Kind: EventRejected, Route: event, Code: e.Code, Status: e.Status})
		if event == "callback" {
			m.observe(r.Context(), Event{Kind: EventLogin, Outcome: OutcomeFailed, Code: e.Code})
		}
	}
	authHeaders(w)
	m.cfg.ErrorHandler(w, r, e)
}

// describe turns an internal error into a log-safe string: token endpoint
// errors keep only the status and the OAuth error code, since their bodies
// are the provider's to fill (the other calls to providers summarise their
// answers themselves, see internal/answer); and no description is longer
// than maxDescription bytes.
func describe(err error) string {
	if err == nil {
		return ""
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return strings.TrimSpace(fmt.Sprintf("token endpoint answered %d %s", status, answer.Code(re.ErrorCode)))
	}
	s := oneLine(err.Error())
	if len(s) > maxDescription {
		s = strings.ToValidUTF8(s[:maxDescription], "") + "…"
	}
	return s
}

// maxDescription bounds the reason a log line gives for an error.
const maxDescription = 512

// oneLine replaces the control characters and line separators of s with
// spaces, so that a description is one line in any log format.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, breaksLine) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if breaksLine(r) {
			return ' '
		}
		return r
	}, s)
}

func breaksLine(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// authHeaders are on every response of the middleware's routes.
func authHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
