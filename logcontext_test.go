package endsession_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
)

// traceKey is the context value an outer handler sets, as a tracing
// middleware sets its span: slog handlers that add trace ids read it from
// the context of each record.
type traceKey struct{}

// contextRecorder is a slog.Handler that notes, for each record, its
// message and the traceKey value of the context it was given.
type contextRecorder struct {
	mu   *sync.Mutex
	recs *[]contextRecord
}

type contextRecord struct {
	msg   string
	trace any
	// multiline names an attribute whose value holds a line break.
	multiline string
}

func (h contextRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h contextRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h contextRecorder) WithGroup(string) slog.Handler            { return h }
func (h contextRecorder) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec := contextRecord{msg: r.Message, trace: ctx.Value(traceKey{})}
	r.Attrs(func(a slog.Attr) bool {
		if strings.ContainsAny(a.Value.String(), "\r\n\u2028\u2029") {
			rec.multiline = a.Key
		}
		return true
	})
	*h.recs = append(*h.recs, rec)
	return nil
}

// TestEveryLogRecordCarriesTheRequestContext runs a login, a refresh,
// rejected inputs (some with line breaks), a logout and its landing, and a front-channel and a
// back-channel logout, behind an outer handler that puts a value in each
// request's context: every record the middleware writes is given that
// context, so trace and span ids reach the slog handler, and no value
// holds a line break.
func TestEveryLogRecordCarriesTheRequestContext(t *testing.T) {
	var mu sync.Mutex
	var recs []contextRecord
	s := newStack(t, withBackchannel, withMW(func(c *middleware.Config) {
		c.Logger = slog.New(contextRecorder{mu: &mu, recs: &recs})
	}))
	inner := s.mw.Handler(appRoutes(s.mw))
	var outer http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), traceKey{}, "span-of-"+r.URL.Path)))
	})
	s.handler.Store(&outer)
	mu.Lock()
	recs = nil // New's own records, of no request
	mu.Unlock()

	s.login()
	s.advance(6 * time.Minute) // the access token expired: refreshed
	s.login()
	s.get("/auth/login?return_to=//evil.example")
	s.rawGet(t, "/profile", "endsession=garbage")
	s.login()
	end := s.logoutRedirect()
	s.follow(s.get(end.String()))
	s.get("/auth/logged-out?state=forged%0Aline")
	s.get("/auth/callback?state=a%0Ab&code=c%0Ad&error=x%0Ay&error_description=line%0Abreak")
	s.login()
	q := url.Values{"iss": {s.op.Issuer()}, "sid": {s.sid()}}
	s.get("/auth/frontchannel-logout?" + q.Encode())
	s.get("/auth/frontchannel-logout?iss=https://evil.example&sid=x")
	nextSecond() // a session of the same second as the logout of its sid ends too
	s.login()
	if err := s.op.LogoutUser("alice"); err != nil {
		t.Fatalf("the provider's back-channel logout failed: %v", err)
	}
	s.postLogoutToken("not-a-token")

	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for _, rec := range recs {
		seen[rec.msg] = true
		if rec.trace == nil {
			t.Errorf("record %q was logged without the request's context", rec.msg)
		}
		if rec.multiline != "" {
			t.Errorf("record %q has a line break in %s", rec.msg, rec.multiline)
		}
	}
	for _, msg := range []string{"login started", "login succeeded", "tokens refreshed", "return target rejected",
		"session cookie rejected", "logout", "logout landed", "front-channel logout", "front-channel logout rejected",
		"back-channel logout", "back-channel logout rejected", "callback rejected", "logged_out rejected"} {
		if !seen[msg] {
			t.Errorf("no %q record: the run did not cover it", msg)
		}
	}
}
