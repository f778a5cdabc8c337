package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// The application and its provider. Nothing here goes on the network: the
// provider answers through an in-process http.RoundTripper.
const (
	appURL       = "https://app.example.com"
	issuer       = "https://id.example.com"
	clientID     = "endsession-bench"
	clientSecret = "endsession-bench-secret"
	keyID        = "bench-rs256-1"
)

// Every store uses the same keys: HMAC-SHA256 with a 32-byte key and
// AES-256, as gorilla/securecookie does for gorilla/sessions.
var (
	hashKey  = derive("endsession bench hash key")
	blockKey = derive("endsession bench block key")
	keys     = []session.KeyPair{{HashKey: hashKey, BlockKey: blockKey}}
)

func derive(label string) []byte {
	sum := sha256.Sum256([]byte(label))
	return sum[:]
}

// lifetime is the middleware's default session lifetime.
var lifetime = session.Lifetime{Idle: 24 * time.Hour, Absolute: 7 * 24 * time.Hour}

// The provider's signing key, fixed so that the tokens are the same on
// every run. It signs nothing but these benchmarks' tokens.
//
//go:embed testdata/rs256-key.pem
var signingKeyPEM []byte

var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	block, _ := pem.Decode(signingKeyPEM)
	if block == nil {
		panic("bench: testdata/rs256-key.pem holds no PEM block")
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		panic(err)
	}
	return k
})

// signJWT signs claims with RS256. PKCS #1 v1.5 signatures are
// deterministic, and encoding/json sorts map keys, so the same claims give
// the same token.
func signJWT(typ string, claims map[string]any) string {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": keyID, "typ": typ})
	if err != nil {
		panic(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(nil, signingKey(), crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + enc.EncodeToString(sig)
}

// The user of every benchmark.
const (
	subject    = "248289761001"
	sid        = "08a5019c-17e1-4977-8f42-65a12843ea02"
	email      = "jane.doe@example.com"
	name       = "Jane Doe"
	givenName  = "Jane"
	familyName = "Doe"
)

// tokenEpoch is when the fixed tokens were issued.
var tokenEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// idTokenClaims are the claims of an ID token issued at iat, much like
// those of a large provider: about 1.5 KB once signed.
func idTokenClaims(iat time.Time, nonce, accessToken string) map[string]any {
	sum := sha256.Sum256([]byte(accessToken))
	return map[string]any{
		"iss":                issuer,
		"sub":                subject,
		"aud":                clientID,
		"azp":                clientID,
		"exp":                iat.Add(time.Hour).Unix(),
		"iat":                iat.Unix(),
		"auth_time":          iat.Unix(),
		"nonce":              nonce,
		"sid":                sid,
		"at_hash":            base64.RawURLEncoding.EncodeToString(sum[:16]),
		"acr":                "urn:mace:incommon:iap:silver",
		"amr":                []string{"pwd", "otp"},
		"email":              email,
		"email_verified":     true,
		"name":               name,
		"given_name":         givenName,
		"family_name":        familyName,
		"preferred_username": "jane.doe",
		"locale":             "en-GB",
		"zoneinfo":           "Europe/London",
		"picture":            "https://cdn.example.com/avatars/248289761001/5b0e2c5d6a3f.png",
		"updated_at":         tokenEpoch.Add(-30 * 24 * time.Hour).Unix(),
		"groups":             []string{"engineering", "platform-team", "oncall-primary"},
		"phone_number":       "+44 20 7946 0958",
		"address": map[string]string{
			"street_address": "1 Example Street", "locality": "London",
			"postal_code": "EC1A 1BB", "country": "GB",
		},
	}
}

// accessTokenClaims are the claims of a JWT access token of about 1 KB.
func accessTokenClaims(iat time.Time) map[string]any {
	return map[string]any{
		"iss":       issuer,
		"sub":       subject,
		"aud":       []string{"https://api.example.com", "https://billing.example.com"},
		"client_id": clientID,
		"scope":     "openid profile email offline_access orders:read orders:write billing:read",
		"exp":       iat.Add(time.Hour).Unix(),
		"iat":       iat.Unix(),
		"nbf":       iat.Unix(),
		"jti":       "7f6b1e52-0c1d-4c6a-9a43-3c2e9b0f4d11",
		"sid":       sid,
		"auth_time": iat.Unix(),
		"roles":     []string{"customer", "beta-tester"},
		"tenant":    "acme-corporation-eu",
	}
}

// tokenSet is what the token endpoint returned at login.
type tokenSet struct {
	IDToken, AccessToken, RefreshToken string
}

// tokens are the session's tokens: made once, the same on every run.
var tokens = sync.OnceValue(func() tokenSet {
	at := signJWT("at+jwt", accessTokenClaims(tokenEpoch))
	refresh := sha256.Sum256([]byte("endsession bench refresh token"))
	refresh2 := sha256.Sum256(refresh[:])
	return tokenSet{
		IDToken:      signJWT("JWT", idTokenClaims(tokenEpoch, "n-0S6_WzA2Mj", at)),
		AccessToken:  at,
		RefreshToken: base64.RawURLEncoding.EncodeToString(append(refresh[:], refresh2[:]...)),
	}
})

// sessionID is the session's identifier in the server-side stores.
const sessionID = "BENCHSESSION7QJ4XKZ2M5RTWA"

// sessionData returns the session, written at now. Its tokens, fixed,
// say they were issued at tokenEpoch; the session says they expire an
// hour after now, so that nothing (logout included) tries to refresh them.
func sessionData(now time.Time) *session.Data {
	t := tokens()
	d := &session.Data{
		ID:            sessionID,
		Provider:      "example",
		Issuer:        issuer,
		Subject:       subject,
		SID:           sid,
		Email:         email,
		Name:          name,
		IDToken:       t.IDToken,
		IDTokenExpiry: now.Add(time.Hour),
		AccessToken:   t.AccessToken,
		TokenType:     "Bearer",
		RefreshToken:  t.RefreshToken,
		Expiry:        now.Add(time.Hour),
	}
	lifetime.Stamp(d, now)
	return d
}

// sessionValues is the same session as the key-value map that
// gorilla/sessions and scs keep.
func sessionValues(now time.Time) map[string]any {
	d := sessionData(now)
	return map[string]any{
		"id":              d.ID,
		"provider":        d.Provider,
		"iss":             d.Issuer,
		"sub":             d.Subject,
		"sid":             d.SID,
		"email":           d.Email,
		"name":            d.Name,
		"id_token":        d.IDToken,
		"id_token_expiry": d.IDTokenExpiry,
		"access_token":    d.AccessToken,
		"token_type":      d.TokenType,
		"refresh_token":   d.RefreshToken,
		"expiry":          d.Expiry,
		"created":         d.Created,
		"last_seen":       d.LastSeen,
		"expires":         d.Expires,
	}
}

// authRequest is the browser's request for an application page, carrying
// cookie as its Cookie header.
func authRequest(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, appURL+"/account", nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0")
	r.Header.Set("Cookie", cookie)
	return r
}

// cookieHeader turns the cookies a response set into the Cookie header a
// browser sends back.
func cookieHeader(h http.Header) string {
	var parts []string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// savedCookies runs save against a fresh request and returns the Cookie
// header that carries what it set.
func savedCookies(tb testing.TB, save func(w http.ResponseWriter, r *http.Request) error) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	if err := save(rec, httptest.NewRequest(http.MethodGet, appURL+"/", nil)); err != nil {
		tb.Fatal(err)
	}
	c := cookieHeader(rec.Result().Header)
	if c == "" {
		tb.Fatal("save set no cookie")
	}
	return c
}

// discardWriter is a ResponseWriter that keeps only the status; reset
// readies it for the next request without allocating.
type discardWriter struct {
	h      http.Header
	status int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: make(http.Header)} }

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}

// use answers 204 when the user's email and access token were found, as
// an application page that shows one and calls an API with the other.
func use(w http.ResponseWriter, email, accessToken string) {
	if email == "" || accessToken == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// app is the application behind endsession's middleware.
var app = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	d, _ := middleware.SessionFromContext(r.Context())
	use(w, d.Email, d.AccessToken)
})

// bare is the floor: the application's handler with no session at all.
var bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
})

// provider is the application's provider, with its endpoints given so
// that nothing is discovered.
func provider() providers.Provider {
	return providers.Provider{
		Name:         "example",
		Issuer:       issuer,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoints: providers.Endpoints{
			AuthURL:       issuer + "/authorize",
			TokenURL:      issuer + "/token",
			JWKSURL:       issuer + "/jwks",
			EndSessionURL: issuer + "/logout",
		},
	}
}

// newMiddleware returns endsession's middleware over store, talking to
// the in-process provider op (nil for none).
func newMiddleware(tb testing.TB, store session.Store, op *fakeProvider) *middleware.Middleware {
	tb.Helper()
	client := &http.Client{Transport: op}
	if op == nil {
		client = &http.Client{Transport: refuse{}}
	}
	m, err := middleware.New(middleware.Config{
		AppURL:       appURL,
		Providers:    []providers.Provider{provider()},
		Keys:         keys,
		Store:        store,
		Lifetime:     lifetime,
		LoginTimeout: time.Hour,
		HTTPClient:   client,
		Logger:       slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// refuse is a transport for benchmarks that must not call the provider;
// providerCalls counts the calls it refused.
type refuse struct{}

var providerCalls atomic.Int64

func (refuse) RoundTrip(r *http.Request) (*http.Response, error) {
	providerCalls.Add(1)
	return nil, fmt.Errorf("bench: unexpected call to %s", r.URL)
}

// jwks is the provider's key set document.
var jwks = sync.OnceValue(func() []byte {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &signingKey().PublicKey, KeyID: keyID, Algorithm: "RS256", Use: "sig",
	}}})
	if err != nil {
		panic(err)
	}
	return b
})
