package session_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// authenticatedRequest returns a handler behind the middleware with a
// ServerStore on a MemoryBackend, and a request that carries a session.
func authenticatedRequest(t testing.TB) (http.Handler, *http.Request) {
	backend := session.NewMemoryBackend(session.MemoryOptions{})
	t.Cleanup(func() { backend.Close() })
	store := newServerStore(t, backend, time.Now)
	m, err := middleware.New(middleware.Config{
		AppURL:    "http://app.example",
		Providers: []providers.Provider{{Name: "tv", Logout: providers.RPInitiated{}}},
		Keys:      testKeys(1),
		Store:     store,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	d := session.Data{Provider: "tv", Issuer: "https://op.example", Subject: "alice", SID: "sid-1"}
	if err := m.StartSession(rec, httptest.NewRequest(http.MethodGet, "http://app.example/", nil), d); err != nil {
		t.Fatal(err)
	}
	h := m.Handler(m.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	r := httptest.NewRequest(http.MethodGet, "http://app.example/private", nil)
	r.AddCookie(rec.Result().Cookies()[0])
	return h, r
}

// The hot path of a server-side session in memory: verify the cookie's
// signature, find the decoded session, copy it for the request.
func TestAuthenticatedRequestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless with -race")
	}
	h, r := authenticatedRequest(t)
	w := httptest.NewRecorder()
	n := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, r) })
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", w.Code)
	}
	if n > 12 {
		t.Errorf("an authenticated request allocates %v times, want at most 12", n)
	}
}

func BenchmarkAuthenticatedRequest(b *testing.B) {
	h, r := authenticatedRequest(b)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
