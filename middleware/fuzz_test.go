package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// browserResolve resolves a Location header as a browser does for an
// https page: tabs and newlines are dropped and a backslash counts as a
// slash (WHATWG URL), then the reference is resolved against base.
func browserResolve(base *url.URL, loc string) (*url.URL, error) {
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, err
	}
	return base.ResolveReference(ref), nil
}

// FuzzSafeReturn checks that whatever safeReturn accepts stays on the
// application when a browser follows it, as is and after http.Redirect
// has cleaned it.
func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{
		"/", "/profile?tab=1#x", "//evil.example", `/\evil.example`, `\/evil.example`,
		"https:evil.example", "/%2F%2Fevil.example", "javascript:alert(1)", "data:text/html,x",
		"java\tscript:alert(1)", "/\t/evil.example", "https://app@evil.example", "/./../..//evil.example",
		"/%09/evil.example", "/\u3002evil.example", "/a?b=//evil.example", "/#//evil.example",
	} {
		f.Add(s)
	}
	app, _ := url.Parse("https://app.example/auth/login")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := safeReturn(s)
		if !ok {
			if got != "" {
				t.Fatalf("safeReturn(%q) refused but returned %q", s, got)
			}
			return
		}
		if got != s {
			t.Fatalf("safeReturn(%q) = %q, want it unchanged", s, got)
		}
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback", nil), got, http.StatusSeeOther)
		for _, loc := range []string{got, rec.Header().Get("Location")} {
			u, err := browserResolve(app, loc)
			if err != nil {
				continue // a browser would not follow it either
			}
			if u.Scheme != "https" || u.Host != "app.example" || u.User != nil {
				t.Fatalf("safeReturn accepted %q, which leads to %s", s, u)
			}
		}
	})
}

// stubProvider answers the calls a callback makes: the token endpoint
// refuses every code, the keys are one RSA key.
type stubProvider struct {
	key    *rsa.PrivateKey
	token  func() (int, string)
	tokens atomic.Int32
	jwks   atomic.Int32
}

func (p *stubProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	status, body := http.StatusNotFound, "{}"
	switch r.URL.Path {
	case "/token":
		p.tokens.Add(1)
		status, body = p.token()
	case "/jwks":
		p.jwks.Add(1)
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: p.key.Public(), KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
		status, body = http.StatusOK, string(b)
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func newFuzzMiddleware(tb testing.TB, stub *stubProvider) *Middleware {
	tb.Helper()
	m, err := New(Config{
		AppURL: "https://app.example",
		Providers: []providers.Provider{{
			Name: "op", Issuer: "https://op.example", ClientID: "app", ClientSecret: "secret",
			Endpoints: providers.Endpoints{AuthURL: "https://op.example/authorize", TokenURL: "https://op.example/token",
				JWKSURL: "https://op.example/jwks", IssParameter: true},
		}},
		Keys:       []session.KeyPair{{HashKey: bytes.Repeat([]byte{1}, 32), BlockKey: bytes.Repeat([]byte{2}, 32)}},
		HTTPClient: &http.Client{Transport: stub},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// FuzzCallback sends arbitrary query strings to the callback of a login
// in flight: "STATE" in the query stands for the login's real state, so
// that the fuzzer reaches past the state check. The callback must never
// panic nor answer 5xx (the provider stub answers at once), and never
// make a session.
func FuzzCallback(f *testing.F) {
	for _, q := range []string{
		"state=STATE&code=abc&iss=https%3A%2F%2Fop.example",
		"state=STATE&code=abc",
		"state=STATE&error=access_denied&iss=https%3A%2F%2Fop.example",
		"state=STATE&error=%3Cscript%3E&iss=https%3A%2F%2Fop.example",
		"state=STATE&state=STATE&code=a&code=b&iss=x&iss=y",
		"state=STATE&code=&iss=https%3A%2F%2Fop.example",
		"state=%00&code=%ff",
		"code=abc",
		"state=STATE;code=abc",
		"%zz",
		"",
	} {
		f.Add(q)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	stub := &stubProvider{key: key, token: func() (int, string) {
		return http.StatusBadRequest, `{"error":"invalid_grant"}`
	}}
	f.Fuzz(func(t *testing.T, query string) {
		m := newFuzzMiddleware(t, stub)
		rec := httptest.NewRecorder()
		m.login(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/login", nil))
		authorize, err := url.Parse(rec.Header().Get("Location"))
		if err != nil || rec.Code != http.StatusFound {
			t.Fatalf("login: %d %v", rec.Code, err)
		}
		state := authorize.Query().Get("state")
		req := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback", nil)
		req.URL.RawQuery = strings.ReplaceAll(query, "STATE", state)
		for _, c := range rec.Result().Cookies() {
			req.AddCookie(c)
		}
		out := httptest.NewRecorder()
		m.callback(out, req)
		if out.Code >= 500 || out.Code < 300 {
			t.Fatalf("callback with %q answered %d", query, out.Code)
		}
		for _, c := range out.Result().Cookies() {
			if !strings.HasPrefix(c.Name, "__Host-endsession_flow_") || c.MaxAge >= 0 {
				t.Fatalf("callback with %q set cookie %s other than expiring its flow", query, c.Name)
			}
		}
	})
}

// FuzzVerifyIDToken gives the middleware's verifier arbitrary tokens: it
// never panics, accepts only tokens the provider's key signed, and with
// the clock standing still fetches the keys at most twice whatever it is
// given (once for the key a good token names, once for the first unknown
// key id).
func FuzzVerifyIDToken(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	stray, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	claims, _ := json.Marshal(map[string]any{"iss": "https://op.example", "aud": "app", "sub": "u",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": "n"})
	sign := func(k *rsa.PrivateKey, kid string, alg jose.SignatureAlgorithm) string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
		jws, _ := s.Sign(claims)
		out, _ := jws.CompactSerialize()
		return out
	}
	good := sign(key, "k1", jose.RS256)
	for _, s := range []string{
		good, sign(key, "", jose.RS256), sign(stray, "k1", jose.RS256), sign(stray, "k2", jose.RS256), sign(stray, "k3", jose.RS256),
		sign(key, "k1", jose.PS256), "e30.e30.", "eyJhbGciOiJub25lIn0.e30.", "a.b.c", "",
		good[:len(good)-4] + "AAAA",
	} {
		f.Add(s)
	}
	stub := &stubProvider{key: key}
	keys := newKeySet("https://op.example/jwks", &http.Client{Transport: stub}, []string{"RS256"}, time.Second,
		func() time.Time { return now })
	v := oidc.NewVerifier("https://op.example", keys, &oidc.Config{ClientID: "app", SupportedSigningAlgs: []string{"RS256"},
		Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, raw string) {
		idt, err := v.Verify(context.Background(), raw)
		if err == nil {
			jws, perr := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
			if perr != nil || idt.Subject == "" {
				t.Fatalf("accepted %q", raw)
			}
			if _, verr := jws.Verify(key.Public()); verr != nil {
				t.Fatalf("accepted a token the provider's key did not sign: %q", raw)
			}
		}
		if n := stub.jwks.Load(); n > 2 {
			t.Fatalf("the keys were fetched %d times", n)
		}
	})
}

// FuzzBackchannelLogout posts arbitrary logout tokens to the back-channel
// route: it never panics, answers 200 or 400 only (the provider's keys
// are at hand), accepts only tokens the provider's key signed, and with
// the clock standing still fetches the keys at most twice.
func FuzzBackchannelLogout(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	sign := func(kid string, edit func(map[string]any)) string {
		c := map[string]any{"iss": "https://op.example", "aud": "app", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
			"jti": rand.Text(), "sid": "s1", "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}}
		if edit != nil {
			edit(c)
		}
		payload, _ := json.Marshal(c)
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("logout+jwt"))
		jws, _ := s.Sign(payload)
		out, _ := jws.CompactSerialize()
		return out
	}
	for _, tok := range []string{
		sign("k1", nil), sign("k9", nil), sign("k1", func(c map[string]any) { c["nonce"] = "n" }),
		sign("k1", func(c map[string]any) { delete(c, "exp") }), sign("k1", func(c map[string]any) { delete(c, "events") }),
		sign("k1", func(c map[string]any) { delete(c, "sid") }), "a.b.c", "a.b.c.d.e", "",
	} {
		f.Add(tok)
	}
	stub := &stubProvider{key: key}
	m := newFuzzMiddleware(f, stub)
	m.cfg.Now = func() time.Time { return now }
	f.Fuzz(func(t *testing.T, token string) {
		req := httptest.NewRequest(http.MethodPost, "https://app.example/auth/backchannel-logout",
			strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		m.backchannelLogout(rec, req)
		switch rec.Code {
		case http.StatusOK:
			jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatalf("accepted %q", token)
			}
			if _, err := jws.Verify(key.Public()); err != nil {
				t.Fatalf("accepted a token the provider's key did not sign: %q", token)
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("answered %d to %q", rec.Code, token)
		}
		if n := stub.jwks.Load(); n > 2 {
			t.Fatalf("the keys were fetched %d times", n)
		}
	})
}
