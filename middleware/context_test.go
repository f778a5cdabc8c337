package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// Under Handler, a request's session and correlation id live in one
// context value; the id is drawn only when asked for, and is then the same
// for every record of the request.
func TestRequestContext(t *testing.T) {
	now := time.Now()
	d := &session.Data{ID: "s", Provider: "op", Issuer: "https://op.invalid", Email: "a@example.com",
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	m := newTestMiddleware(t, &fakeStore{records: []*session.Data{d}}, Config{})
	var seen *http.Request
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r }))

	// On the application's own host: a request on another host is logged
	// (a hint), and draws an id.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "https://app.example/page", nil))
	rc, ok := seen.Context().(*requestContext)
	if !ok {
		t.Fatalf("the handler's context is a %T", seen.Context())
	}
	if rc.cid != "" {
		t.Error("a request that logged nothing drew a correlation id")
	}
	type key struct{}
	derived := context.WithValue(seen.Context(), key{}, 1)
	if got, ok := SessionFromContext(derived); !ok || got.Email != "a@example.com" {
		t.Fatalf("SessionFromContext of a derived context = %+v, %v", got, ok)
	}
	id := correlationID(seen)
	if id == "" || correlationID(seen) != id || rc.cid != id {
		t.Fatalf("correlation ids %q, %q, kept %q; want one", id, correlationID(seen), rc.cid)
	}
	if r2, id2 := withCorrelation(seen); r2 != seen || id2 != id {
		t.Error("withCorrelation under Handler made a new request or a new id")
	}

	// A well-formed X-Request-Id is the id; a malformed one is not.
	r := httptest.NewRequest(http.MethodGet, "/page", nil)
	r.Header.Set("X-Request-Id", "req-42")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got := correlationID(seen); got != "req-42" {
		t.Errorf("with X-Request-Id req-42, the id is %q", got)
	}
	r.Header.Set("X-Request-Id", "bad id\n")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got := correlationID(seen); got == "bad id\n" || len(got) != 16 {
		t.Errorf("with a malformed X-Request-Id, the id is %q", got)
	}

	// Without a session, none in the context.
	m = newTestMiddleware(t, &fakeStore{}, Config{})
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/page", nil))
	if _, ok := SessionFromContext(seen.Context()); ok {
		t.Error("a session in the context of a request without one")
	}
}
