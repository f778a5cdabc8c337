package middleware

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// fakeStore stands for a server-side store: each Load returns a copy of
// the next of records (the last one repeats; none is no session), and
// Save keeps what it is given.
type fakeStore struct {
	mu      sync.Mutex
	loads   int
	records []*session.Data // returned by successive loads; the last repeats
	saved   []*session.Data
}

func (f *fakeStore) Load(*http.Request) (*session.Data, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.records) == 0 {
		return nil, nil
	}
	d := *f.records[min(f.loads, len(f.records)-1)]
	f.loads++
	return &d, nil
}

func (f *fakeStore) Save(_ http.ResponseWriter, _ *http.Request, d *session.Data) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saved = append(f.saved, d)
	return nil
}

func (f *fakeStore) Delete(http.ResponseWriter, *http.Request, *session.Data) error { return nil }

func (f *fakeStore) EndMatching(context.Context, session.Match) error { return nil }

func newTestMiddleware(t *testing.T, store session.Store, cfg Config) *Middleware {
	t.Helper()
	cfg.AppURL = "https://app.example"
	cfg.Keys = []session.KeyPair{{HashKey: bytes.Repeat([]byte{1}, 32), BlockKey: bytes.Repeat([]byte{2}, 32)}}
	cfg.Providers = []providers.Provider{{Name: "op", Issuer: "https://op.invalid", ClientID: "c", ClientSecret: "s"}}
	cfg.Store = store
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
