package devprovider_test

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
)

const (
	callbackURL   = "http://127.0.0.1:1/callback"
	afterLogout   = "http://127.0.0.1:1/signed-out"
	webSecret     = "web-secret"
	defaultClient = "web"
)

// webClient is a confidential client with every logout URI registered.
func webClient() devprovider.Client {
	return devprovider.Client{
		ID:                     defaultClient,
		Secret:                 webSecret,
		RedirectURIs:           []string{callbackURL},
		PostLogoutRedirectURIs: []string{afterLogout},
	}
}

// clock is a settable clock for Config.Now and oidc.Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start starts a provider with cfg, quiet unless cfg has a Logger, and one
// web client unless cfg has clients.
func start(t *testing.T, cfg devprovider.Config) *devprovider.Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clients == nil {
		cfg.Clients = []devprovider.Client{webClient()}
	}
	op, err := devprovider.Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { op.Close() })
	return op
}

// rp is a relying party of op, built with x/oauth2 and go-oidc.
type rp struct {
	conf     *oauth2.Config
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

func newRP(t *testing.T, op *devprovider.Server, clientID, secret string, now func() time.Time) *rp {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), op.Issuer())
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	endpoint := provider.Endpoint()
	// Not auto-detection: it retries a failed request with the other style
	// and so hides the first error.
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &rp{
		conf: &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: secret,
			Endpoint:     endpoint,
			RedirectURL:  callbackURL,
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
		},
		provider: provider,
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID, Now: now}),
	}
}

// flow is one authorization request's secrets.
type flow struct {
	state, nonce, verifier string
}

func newFlow() flow {
	return flow{state: oauth2.GenerateVerifier()[:16], nonce: oauth2.GenerateVerifier()[:16], verifier: oauth2.GenerateVerifier()}
}

func (r *rp) authURL(f flow, opts ...oauth2.AuthCodeOption) string {
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)}, opts...)
	return r.conf.AuthCodeURL(f.state, opts...)
}

// exchange redeems code with the flow's verifier and verifies the ID token.
func (r *rp) exchange(t *testing.T, f flow, code string) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if idt.Nonce != f.nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, f.nonce)
	}
	return tok, idt
}

// browser is a user agent with a cookie jar that does not follow redirects.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location(t *testing.T) *url.URL {
	t.Helper()
	loc := r.header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location; status %d, body:\n%s", r.status, r.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(u string) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login signs in through r in b (AutoLogin or an existing session) and
// returns the callback URL.
func (b *browser) authorize(r *rp, f flow, opts ...oauth2.AuthCodeOption) *url.URL {
	b.t.Helper()
	resp := b.get(r.authURL(f, opts...))
	if resp.status != http.StatusFound {
		b.t.Fatalf("authorize: status %d, want 302; body:\n%s", resp.status, resp.body)
	}
	return resp.location(b.t)
}

// loginAndExchange runs a whole code flow.
func loginAndExchange(t *testing.T, b *browser, r *rp) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	f := newFlow()
	cb := b.authorize(r, f)
	if got := cb.Query().Get("state"); got != f.state {
		t.Fatalf("state = %q, want %q", got, f.state)
	}
	return r.exchange(t, f, cb.Query().Get("code"))
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	iframeRE = regexp.MustCompile(`<iframe src="([^"]+)"`)
)

// loginForm returns the action and hidden fields of a login page.
func loginForm(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	m := actionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no login form in:\n%s", body)
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(body, -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), form
}

func retrieveError(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *oauth2.RetrieveError", err)
	}
	return re
}
