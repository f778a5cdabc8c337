package bench

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// providerDelay is how far away the provider is: every call to its token
// and revocation endpoints waits this long before it is answered.
const providerDelay = 50 * time.Millisecond

// latencyLogouts is how many sign-outs one run of BenchmarkLogoutLatency
// times, one after the other.
const latencyLogouts = 200

// BenchmarkLogoutLatency times the sign-out's response with the provider
// 50 ms away (a delay in the in-process provider), 200 sign-outs in a run:
// with a fresh ID token the sign-out revokes the refresh and the access
// tokens (side by side: one round trip); with an expired one it first
// refreshes it for the id_token_hint (two round trips). It reports the
// distribution of the response times and, as round-trips, the median over
// the provider's delay. One op is the 200 sign-outs.
func BenchmarkLogoutLatency(b *testing.B) {
	for _, c := range []struct {
		name    string
		expired bool
		trips   float64 // the bound, in round trips
	}{
		{"fresh-id-token", false, 1},
		{"refresh-for-hint", true, 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			op := newDelayedProvider(b)
			store, err := session.NewCookieStore(session.CookieOptions{Secure: true, Keys: keys})
			if err != nil {
				b.Fatal(err)
			}
			h := latencyMiddleware(b, store, op).Handler(app)
			now := time.Now()
			next := 0
			newLogout := func() (*http.Request, *body) {
				d := sessionData(now)
				d.ID = fmt.Sprintf("BENCHLATENCY%014d", next)
				next++
				if c.expired {
					d.IDTokenExpiry = now.Add(-time.Minute)
				}
				return logoutRequest(savedCookies(b, func(w http.ResponseWriter, r *http.Request) error { return store.Save(w, r, d) }))
			}
			signOut := func(r *http.Request, bd *body) time.Duration {
				w := newDiscardWriter()
				bd.reset()
				t0 := time.Now()
				h.ServeHTTP(w, r)
				took := time.Since(t0)
				loc := w.h.Get("Location")
				if w.status != http.StatusSeeOther || !strings.HasPrefix(loc, issuer+"/logout?") {
					b.Fatalf("logout answered %d, Location %q", w.status, loc)
				}
				return took
			}
			// The first sign-out fetches the key set.
			signOut(newLogout())
			var took []time.Duration
			calls := op.calls.Load()
			for b.Loop() {
				reqs := make([]*http.Request, latencyLogouts)
				bodies := make([]*body, latencyLogouts)
				untimed(b, func() {
					for i := range reqs {
						reqs[i], bodies[i] = newLogout()
					}
				})
				for i := range reqs {
					took = append(took, signOut(reqs[i], bodies[i]))
				}
			}
			perLogout := float64(op.calls.Load()-calls) / float64(len(took))
			slices.Sort(took)
			pct := func(p float64) float64 {
				return float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds()) / 1000
			}
			metrics := map[string]float64{
				"p50-ms": pct(0.5), "p90-ms": pct(0.9), "p99-ms": pct(0.99), "max-ms": float64(took[len(took)-1].Microseconds()) / 1000,
				"min-ms":         float64(took[0].Microseconds()) / 1000,
				"round-trips":    pct(0.5) / float64(providerDelay.Milliseconds()),
				"calls/logout":   perLogout,
				"bound-ms":       c.trips*float64(providerDelay.Milliseconds()) + 10,
				"logouts":        float64(len(took)),
				"over-bound-pct": 100 * float64(len(took)-countBelow(took, time.Duration(c.trips)*providerDelay+10*time.Millisecond)) / float64(len(took)),
			}
			for k, v := range metrics {
				b.ReportMetric(v, k)
			}
			record(b, metrics) // once per run: the benchmark uses b.Loop
		})
	}
}

// countBelow returns how many of sorted are at most d.
func countBelow(sorted []time.Duration, d time.Duration) int {
	n, _ := slices.BinarySearch(sorted, d+1)
	return n
}

// latencyMiddleware is newMiddleware with a provider that has a
// revocation endpoint, served by op.
func latencyMiddleware(tb testing.TB, store session.Store, op *delayedProvider) *middleware.Middleware {
	tb.Helper()
	p := provider()
	p.Endpoints.RevocationURL = issuer + "/revoke"
	m, err := middleware.New(middleware.Config{
		AppURL:       appURL,
		Providers:    []providers.Provider{p},
		Keys:         keys,
		Store:        store,
		Lifetime:     lifetime,
		LoginTimeout: time.Hour,
		HTTPClient:   &http.Client{Transport: op},
		Logger:       slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// delayedProvider answers, providerDelay after each call, the refresh
// grant (a fresh ID token, signed ahead of the timing, of the session's
// login: same auth_time and nonce) and revocations; and the key set at
// once. It counts the delayed calls.
type delayedProvider struct {
	refreshed []byte
	calls     atomic.Int64
}

func newDelayedProvider(tb testing.TB) *delayedProvider {
	t := tokens()
	claims := idTokenClaims(time.Now(), "n-0S6_WzA2Mj", t.AccessToken)
	claims["auth_time"] = tokenEpoch.Unix()
	b, err := json.Marshal(map[string]any{
		"access_token": t.AccessToken, "token_type": "Bearer", "refresh_token": t.RefreshToken,
		"expires_in": 3600, "id_token": signJWT("JWT", claims),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &delayedProvider{refreshed: b}
}

func (op *delayedProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body := http.StatusOK, []byte(`{}`)
	var form url.Values
	if r.Body != nil {
		raw, _ := io.ReadAll(r.Body)
		r.Body.Close()
		form, _ = url.ParseQuery(string(raw))
	}
	switch r.URL.String() {
	case issuer + "/jwks":
		body = jwks()
		return jsonResponse(r, status, body), nil
	case issuer + "/token":
		if form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != tokens().RefreshToken {
			status, body = http.StatusBadRequest, []byte(`{"error":"invalid_grant"}`)
		} else {
			body = op.refreshed
		}
	case issuer + "/revoke":
		if form.Get("token") == "" {
			status = http.StatusBadRequest
		}
	default:
		status, body = http.StatusNotFound, []byte(`{"error":"not_found"}`)
	}
	if id, secret, ok := r.BasicAuth(); !ok || id != clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(clientSecret)) != 1 {
		status, body = http.StatusUnauthorized, []byte(`{"error":"invalid_client"}`)
	}
	op.calls.Add(1)
	select {
	case <-time.After(providerDelay):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return jsonResponse(r, status, body), nil
}

func jsonResponse(r *http.Request, status int, body []byte) *http.Response {
	return &http.Response{
		StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}
}
