package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// fakeProvider is the smallest OpenID provider a login needs, answering in
// the process as an http.RoundTripper: a token endpoint that redeems the
// codes given to it (checking the client's secret and the PKCE verifier),
// and the key set. Its tokens are signed ahead of time, so that a
// benchmark times the relying party, not the provider's RSA signing.
type fakeProvider struct {
	mu     sync.RWMutex
	grants map[string]grant // by code
}

type grant struct {
	challenge string // S256 of the PKCE verifier
	response  []byte // the token endpoint's answer
}

func newFakeProvider() *fakeProvider {
	return &fakeProvider{grants: make(map[string]grant)}
}

// grant registers code, redeemable with the PKCE verifier whose S256
// challenge is challenge, for a token response whose ID token carries
// nonce.
func (op *fakeProvider) grant(code, challenge string, response []byte) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.grants[code] = grant{challenge: challenge, response: response}
}

// tokenResponse signs an ID token for nonce, issued now, and returns the
// token endpoint's answer carrying it.
func tokenResponse(nonce string, now time.Time) []byte {
	t := tokens()
	b, err := json.Marshal(map[string]any{
		"access_token":  t.AccessToken,
		"token_type":    "Bearer",
		"refresh_token": t.RefreshToken,
		"expires_in":    3600,
		"scope":         "openid profile email",
		"id_token":      signJWT("JWT", idTokenClaims(now, nonce, t.AccessToken)),
	})
	if err != nil {
		panic(err)
	}
	return b
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (op *fakeProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	status := http.StatusOK
	switch r.URL.String() {
	case issuer + "/jwks":
		body = jwks()
	case issuer + "/token":
		body, status = op.token(r)
	default:
		status, body = http.StatusNotFound, []byte(`{"error":"not_found"}`)
	}
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode:    status,
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

func (op *fakeProvider) token(r *http.Request) ([]byte, int) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return []byte(`{"error":"invalid_request"}`), http.StatusBadRequest
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil || form.Get("grant_type") != "authorization_code" {
		return []byte(`{"error":"invalid_request"}`), http.StatusBadRequest
	}
	id, secret, ok := r.BasicAuth()
	if !ok || id != clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(clientSecret)) != 1 {
		return []byte(`{"error":"invalid_client"}`), http.StatusUnauthorized
	}
	op.mu.RLock()
	g, ok := op.grants[form.Get("code")]
	op.mu.RUnlock()
	if !ok || s256(form.Get("code_verifier")) != g.challenge {
		return []byte(`{"error":"invalid_grant"}`), http.StatusBadRequest
	}
	return g.response, http.StatusOK
}

// A login is one login in flight, ready for its callback: started at
// endsession's login route, with its code granted at the provider.
type login struct {
	callback *http.Request // endsession's callback, with the flow cookie
	code     string        // the same grant, for the bare exchange
	verifier string
	nonce    string
}

// callbackBatch is how many logins are prepared. A login is used once per
// middleware (endsession refuses a replayed state), so a benchmark starts
// a new middleware, untimed, every callbackBatch callbacks.
const callbackBatch = 512

var logins = struct {
	once sync.Once
	op   *fakeProvider
	all  []login
	err  error
}{}

// prepareLogins starts callbackBatch logins at endsession's login route
// and signs their ID tokens, once per process.
func prepareLogins(tb testing.TB) (*fakeProvider, []login) {
	tb.Helper()
	logins.once.Do(func() {
		op := newFakeProvider()
		h := newMiddleware(tb, nil, op).Handler(app)
		now := time.Now()
		for i := range callbackBatch {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, appURL+"/auth/login?return_to=%2Faccount", nil))
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil || w.Code != http.StatusFound {
				logins.err = fmt.Errorf("login answered %d, Location %q", w.Code, w.Header().Get("Location"))
				return
			}
			q := loc.Query()
			response := tokenResponse(q.Get("nonce"), now)
			code := "code-" + strconv.Itoa(i)
			op.grant(code, q.Get("code_challenge"), response)
			// The same tokens for the bare exchange, under its own code
			// and verifier.
			verifier := oauth2.GenerateVerifier()
			op.grant("bare-"+code, s256(verifier), response)
			cb := httptest.NewRequest(http.MethodGet, appURL+"/auth/callback?"+url.Values{
				"code": {code}, "state": {q.Get("state")}, "iss": {issuer},
			}.Encode(), nil)
			cb.Header.Set("Cookie", cookieHeader(w.Result().Header))
			logins.all = append(logins.all, login{callback: cb, code: "bare-" + code, verifier: verifier, nonce: q.Get("nonce")})
		}
		logins.op = op
	})
	if logins.err != nil {
		tb.Fatal(logins.err)
	}
	return logins.op, logins.all
}

// BenchmarkCallback compares endsession's whole login callback (flow
// cookie, token exchange, ID token verification, new session cookie) with
// the bare token exchange and go-oidc verification an application would
// do by hand, against the same in-process provider. "interleaved" runs one
// of each in turn, so that a shared machine's load weighs on both alike,
// and reports their ratio (endsession/bare).
func BenchmarkCallback(b *testing.B) {
	op, all := prepareLogins(b)
	b.Run("bare-exchange-verify", func(b *testing.B) {
		bare := newBareLogin(b, op, all)
		measure(b, bare)
	})
	b.Run("endsession", func(b *testing.B) {
		measure(b, newEndsessionLogin(b, op, all))
	})
	b.Run("interleaved", func(b *testing.B) {
		bare, es := newBareLogin(b, op, all), newEndsessionLogin(b, op, all)
		var bareTime, esTime time.Duration
		measure(b, func() {
			t0 := time.Now()
			bare()
			t1 := time.Now()
			es()
			bareTime += t1.Sub(t0)
			esTime += time.Since(t1)
		})
		ratio := float64(esTime) / float64(bareTime)
		b.ReportMetric(ratio, "endsession/bare")
		recordMore(b, map[string]float64{"endsession/bare": ratio})
	})
}

// newBareLogin returns one login at a time, by hand: the exchange and
// go-oidc's verification.
func newBareLogin(b *testing.B, op *fakeProvider, all []login) func() {
	conf := &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  appURL + "/auth/callback",
		Endpoint:     oauth2.Endpoint{AuthURL: issuer + "/authorize", TokenURL: issuer + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	ctx := oidc.ClientContext(context.Background(), &http.Client{Transport: op})
	var verifier *oidc.IDTokenVerifier
	fresh := func() {
		keySet := oidc.NewRemoteKeySet(ctx, issuer+"/jwks")
		verifier = oidc.NewVerifier(issuer, keySet, &oidc.Config{ClientID: clientID})
	}
	fresh()
	i := 0
	return func() {
		if i == len(all) {
			untimed(b, fresh)
			i = 0
		}
		l := all[i]
		i++
		if err := exchangeAndVerify(ctx, conf, verifier, l); err != nil {
			b.Fatal(err)
		}
	}
}

// newEndsessionLogin returns one login at a time through endsession's
// callback route. A login's state is good once per middleware: a new one
// is made, untimed, when the prepared logins are used up.
func newEndsessionLogin(b *testing.B, op *fakeProvider, all []login) func() {
	var h http.Handler
	fresh := func() { h = newMiddleware(b, nil, op).Handler(app) }
	fresh()
	w := newDiscardWriter()
	req := new(http.Request)
	i := 0
	return func() {
		if i == len(all) {
			untimed(b, fresh)
			i = 0
		}
		*req = *all[i].callback
		i++
		w.reset()
		h.ServeHTTP(w, req)
		if w.status != http.StatusSeeOther || len(w.h["Set-Cookie"]) < 2 {
			b.Fatalf("callback answered %d, Set-Cookie %q", w.status, w.h["Set-Cookie"])
		}
	}
}

// exchangeAndVerify is what an application does by hand at its callback:
// redeem the code with PKCE, verify the ID token with go-oidc, check the
// nonce and the access token hash, and read the claims it keeps.
func exchangeAndVerify(ctx context.Context, conf *oauth2.Config, verifier *oidc.IDTokenVerifier, l login) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tok, err := conf.Exchange(ctx, l.code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		return err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.nonce)) != 1 {
		return errors.New("nonce mismatch")
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return err
	}
	var c struct {
		SID   string `json:"sid"`
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := idt.Claims(&c); err != nil {
		return err
	}
	if c.Email == "" {
		return errors.New("no email claim")
	}
	return nil
}
