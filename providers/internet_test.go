package providers_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// internet is an http.RoundTripper that serves requests to named hosts
// with in-process handlers, so the presets are tested with their real
// production URLs while nothing leaves the machine. Loopback addresses
// (the application's httptest server, fakes served by httptest) go through
// the default transport; any other host is unreachable.
type internet struct {
	mu    sync.Mutex
	hosts map[string]http.Handler
}

func newInternet() *internet { return &internet{hosts: map[string]http.Handler{}} }

// handle serves host (a host name, or host:port) with h.
func (n *internet) handle(host string, h http.Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hosts[host] = h
}

// client returns an HTTP client on this internet, for the middleware and
// the token sources.
func (n *internet) client() *http.Client { return &http.Client{Transport: n} }

func (n *internet) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Host
	if h, p, err := net.SplitHostPort(host); err == nil && (p == "443" && r.URL.Scheme == "https" || p == "80" && r.URL.Scheme == "http") {
		host = h
	}
	n.mu.Lock()
	h := n.hosts[host]
	n.mu.Unlock()
	if h == nil {
		if ip := net.ParseIP(r.URL.Hostname()); ip != nil && ip.IsLoopback() {
			return http.DefaultTransport.RoundTrip(r)
		}
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("fake internet: no route to host %s", r.URL.Host)
	}
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	sr.Host = r.URL.Host
	sr.RemoteAddr = "192.0.2.10:40000"
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, sr)
	}()
	select {
	case <-done:
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// recorded is one request a fake received, kept for golden comparisons.
type recorded struct {
	Kind   string
	Method string
	// URL is the full URL as sent: scheme, host, path and raw query.
	URL    string
	Query  url.Values
	Header http.Header
	// Form is the parsed body of a form POST; nil otherwise.
	Form url.Values
}

// record reads r (and its body) into a recorded request.
func record(kind string, r *http.Request) recorded {
	full := r.URL.String()
	if r.URL.Host == "" {
		full = "http://" + r.Host + r.URL.RequestURI()
	}
	rec := recorded{Kind: kind, Method: r.Method, URL: full, Query: r.URL.Query(), Header: r.Header.Clone()}
	if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, _ := io.ReadAll(r.Body)
		rec.Form, _ = url.ParseQuery(string(body))
		r.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	return rec
}

// anyValue matches any single non-empty value in checkValues.
const anyValue = "\x00any"

// checkValues compares parameters with their golden values: every key of
// want is present once with that value (anyValue: any non-empty value) and
// there is no other key.
func checkValues(t *testing.T, what string, got url.Values, want map[string]string) {
	t.Helper()
	for k, w := range want {
		vs, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: parameter %q missing (want %q)", what, k, printable(w))
		case len(vs) != 1:
			t.Errorf("%s: parameter %q sent %d times: %q", what, k, len(vs), vs)
		case w == anyValue && vs[0] == "":
			t.Errorf("%s: parameter %q is empty", what, k)
		case w != anyValue && vs[0] != w:
			t.Errorf("%s: parameter %q = %q, want %q", what, k, vs[0], w)
		}
	}
	for k, vs := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected parameter %s=%q", what, k, vs)
		}
	}
}

func printable(s string) string {
	if s == anyValue {
		return "<any>"
	}
	return s
}

// splitURL returns u without its query, and its query parameters.
func splitURL(t *testing.T, raw string) (string, url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("bad URL %q: %v", raw, err)
	}
	q := u.Query()
	u.RawQuery = ""
	return u.String(), q
}
