// Package op drives the OpenID provider of the end-to-end suite
// (e2e/op/server.mjs, panva's oidc-provider): the shared instance that
// scripts/test starts, or a private one that a test starts with its own
// settings. It reads the provider's event log and uses its loopback-only
// /__test/ routes. See e2e/README.md.
package op

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/endsession/endsession/e2e/internal/peers"
)

// The clients and accounts that server.mjs configures.
const (
	ConfidentialClientID     = "endsession-confidential" // client_secret_basic
	ConfidentialClientSecret = "endsession-confidential-secret"
	PublicClientID           = "endsession-public" // token_endpoint_auth_method none, PKCE required

	// BigClaimsLogin logs in an account whose ID token is larger than 4 KB.
	BigClaimsLogin = "bigclaims"

	// Paths of the app that every client registers, under APP_URL (and APP2_URL).
	CallbackPath          = "/auth/callback"
	LoggedOutPath         = "/auth/logged-out"
	BackchannelLogoutPath = "/auth/backchannel-logout" // under APP_URL only
)

// DefaultTimeout bounds WaitEvent and the start of a private provider.
var DefaultTimeout = 10 * time.Second

// OP is a running provider.
type OP struct {
	// URL is the issuer, without a trailing slash.
	URL string
	// LogFile holds the provider's event log (JSON lines), when known.
	LogFile string

	http *http.Client
}

// Shared returns the provider that scripts/test started (ENDSESSION_OP_URL).
// Its clients' URIs are on ENDSESSION_APP_ADDR and ENDSESSION_APP2_ADDR.
func Shared(t testing.TB) *OP {
	t.Helper()
	u := peers.RequireOP(t)
	if u == "" {
		return nil
	}
	return &OP{URL: u, LogFile: os.Getenv(peers.EnvOPLog), http: &http.Client{Timeout: 10 * time.Second}}
}

// Config is the environment of a private provider. Zero values keep
// server.mjs's defaults (60 s access and ID tokens, rotating refresh tokens).
type Config struct {
	AppURLs         []string      // APP_URL and APP2_URL, e.g. "http://127.0.0.1:8080"
	AccessTokenTTL  time.Duration // AT_TTL, whole seconds
	IDTokenTTL      time.Duration // IDT_TTL, whole seconds
	RefreshTokenTTL time.Duration // RT_TTL
	SessionTTL      time.Duration // SESSION_TTL
	RefreshRotation string        // RT_ROTATE: "always", "never" or "library"
	BigClaimsBytes  int           // BIG_CLAIMS_BYTES
	// HTTPPost makes the authorization and end-session endpoints accept
	// POST too (OP_HTTP_POST=1); the provider's session cookie is then
	// SameSite=None and Secure, which Chromium keeps on loopback.
	HTTPPost bool
}

func (c Config) env() []string {
	var env []string
	if len(c.AppURLs) > 0 {
		env = append(env, "APP_URL="+c.AppURLs[0])
	}
	if len(c.AppURLs) > 1 {
		env = append(env, "APP2_URL="+c.AppURLs[1])
	}
	secs := func(name string, d time.Duration) {
		if d > 0 {
			env = append(env, fmt.Sprintf("%s=%d", name, int((d+time.Second-1)/time.Second)))
		}
	}
	secs("AT_TTL", c.AccessTokenTTL)
	secs("IDT_TTL", c.IDTokenTTL)
	secs("RT_TTL", c.RefreshTokenTTL)
	secs("SESSION_TTL", c.SessionTTL)
	if c.RefreshRotation != "" {
		env = append(env, "RT_ROTATE="+c.RefreshRotation)
	}
	if c.HTTPPost {
		env = append(env, "OP_HTTP_POST=1")
	}
	if c.BigClaimsBytes > 0 {
		env = append(env, "BIG_CLAIMS_BYTES="+strconv.Itoa(c.BigClaimsBytes))
	}
	return env
}

// ServerDir is the directory of server.mjs: ENDSESSION_OP_DIR, or e2e/op
// next to this source file.
func ServerDir() string {
	if d := os.Getenv("ENDSESSION_OP_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "op")
}

// Start runs a private provider on a free loopback port until the test ends,
// for tests that need settings other than the shared one's (a 2 s ID token,
// no refresh-token rotation, ...). It needs node and `npm ci` done in e2e/op.
func Start(t testing.TB, cfg Config) *OP {
	t.Helper()
	node := peers.RequireNode(t)
	if node == "" {
		return nil
	}
	dir := ServerDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		peers.Missing(t, "OpenID provider", fmt.Sprintf("%s/node_modules has no oidc-provider: run npm ci there", dir))
		return nil
	}
	logFile := filepath.Join(t.TempDir(), "op-events.jsonl")
	lf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OP_PORT=0")
	cmd.Env = append(cmd.Env, cfg.env()...)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the provider: %v", err)
	}
	exited := make(chan struct{})
	issuer := make(chan string, 1)
	go func() {
		defer close(exited)
		defer lf.Close()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		first := true
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = lf.Write(append(line, '\n'))
			if first {
				first = false
				var ev struct {
					Event  string `json:"event"`
					Issuer string `json:"issuer"`
				}
				if json.Unmarshal(line, &ev) == nil && ev.Event == "op.listening" {
					issuer <- ev.Issuer
				}
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("provider stderr:\n%s", stderr.String())
		}
	})

	select {
	case u := <-issuer:
		return &OP{URL: u, LogFile: logFile, http: &http.Client{Timeout: 10 * time.Second}}
	case <-exited:
		t.Fatalf("the provider exited at start:\n%s", stderr.String())
	case <-time.After(DefaultTimeout):
		t.Fatalf("the provider did not start within %v:\n%s", DefaultTimeout, stderr.String())
	}
	return nil
}

// Discovery is the part of the discovery document that the suite uses.
type Discovery struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	BackchannelLogoutSupported        bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported bool     `json:"backchannel_logout_session_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
}

// Discovery fetches /.well-known/openid-configuration.
func (o *OP) Discovery(t testing.TB) Discovery {
	t.Helper()
	var d Discovery
	o.getJSON(t, "/.well-known/openid-configuration", &d)
	return d
}

// Event is one line of the provider's event log: always "seq", "time" and
// "event", then fields that depend on the event (see e2e/README.md).
type Event map[string]any

// Name is the event's name, such as "grant.success".
func (e Event) Name() string { return e.Str("event") }

// Seq is the event's position in the log, from 1.
func (e Event) Seq() int64 {
	f, _ := e["seq"].(float64)
	return int64(f)
}

// Time is when the provider logged the event (its "time", to the
// millisecond), or the zero time.
func (e Event) Time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.Str("time"))
	return t
}

// Str returns a string field, or "".
func (e Event) Str(key string) string {
	s, _ := e[key].(string)
	return s
}

// Bool returns a boolean field, or false.
func (e Event) Bool(key string) bool {
	b, _ := e[key].(bool)
	return b
}

// Int returns a number field, or 0.
func (e Event) Int(key string) int64 {
	f, _ := e[key].(float64)
	return int64(f)
}

func (e Event) String() string {
	b, _ := json.Marshal(map[string]any(e))
	return string(b)
}

// Mark returns the sequence number of the last event so far. Pass it to
// Events or WaitEvent to see only what happens after this point.
func (o *OP) Mark(t testing.TB) int64 {
	t.Helper()
	var r struct {
		Last int64 `json:"last"`
	}
	o.getJSON(t, "/__test/events?since="+strconv.FormatInt(1<<62, 10), &r)
	return r.Last
}

// Events returns the events after since, optionally only those named name.
func (o *OP) Events(t testing.TB, since int64, name string) []Event {
	t.Helper()
	var r struct {
		Events []Event `json:"events"`
	}
	q := url.Values{"since": {strconv.FormatInt(since, 10)}}
	if name != "" {
		q.Set("event", name)
	}
	o.getJSON(t, "/__test/events?"+q.Encode(), &r)
	return r.Events
}

// WaitEvent waits up to DefaultTimeout for an event named name after since
// for which match (may be nil) is true, and returns it.
func (o *OP) WaitEvent(t testing.TB, since int64, name string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(DefaultTimeout)
	for {
		for _, e := range o.Events(t, since, name) {
			if match == nil || match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, e := range o.Events(t, since, "") {
				seen = append(seen, e.String())
			}
			t.Fatalf("no %s event after seq %d within %v; events since:\n%s", name, since, DefaultTimeout, strings.Join(seen, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BackchannelResult is what the provider did for an admin logout.
type BackchannelResult struct {
	Sessions    int `json:"sessions"`
	Backchannel []struct {
		ClientID  string `json:"client_id"`
		SID       string `json:"sid"`
		AccountID string `json:"account_id"`
		OK        bool   `json:"ok"`
		Error     string `json:"error"`
	} `json:"backchannel"`
}

// Logout ends every provider session of the account sub "elsewhere", as if the
// user signed out at the provider from another device: each client of those
// sessions that has a backchannel_logout_uri gets a logout token (sub, sid),
// the grants and their tokens are revoked, the sessions are destroyed.
func (o *OP) Logout(t testing.TB, sub string) BackchannelResult {
	t.Helper()
	return o.adminLogout(t, url.Values{"sub": {sub}})
}

// LogoutSID is Logout for the one provider session that issued sid.
func (o *OP) LogoutSID(t testing.TB, sid string) BackchannelResult {
	t.Helper()
	return o.adminLogout(t, url.Values{"sid": {sid}})
}

// LogoutKeepGrants is Logout without revoking the grants, so that the app's
// refresh tokens stay valid at the provider.
func (o *OP) LogoutKeepGrants(t testing.TB, sub string) BackchannelResult {
	t.Helper()
	return o.adminLogout(t, url.Values{"sub": {sub}, "revoke": {"false"}})
}

func (o *OP) adminLogout(t testing.TB, form url.Values) BackchannelResult {
	t.Helper()
	var r BackchannelResult
	o.postJSON(t, "/__test/logout", form, &r)
	return r
}

// Sessions returns how many live sessions the provider holds for the
// account sub: its admin view, which sees every session not ended and not
// expired.
func (o *OP) Sessions(t testing.TB, sub string) int {
	t.Helper()
	return o.countSessions(t, url.Values{"sub": {sub}})
}

// SessionsWithSID is Sessions for the one provider session that issued
// sid: 1 while it lives, 0 once it has ended.
func (o *OP) SessionsWithSID(t testing.TB, sid string) int {
	t.Helper()
	return o.countSessions(t, url.Values{"sid": {sid}})
}

func (o *OP) countSessions(t testing.TB, q url.Values) int {
	t.Helper()
	var r struct {
		Sessions int `json:"sessions"`
	}
	o.getJSON(t, "/__test/sessions?"+q.Encode(), &r)
	return r.Sessions
}

// LogoutToken returns a logout token signed by the provider for clientID
// (sub and/or sid), without sending it, for tests that post it themselves.
func (o *OP) LogoutToken(t testing.TB, clientID, sub, sid string) string {
	t.Helper()
	form := url.Values{"client_id": {clientID}}
	if sub != "" {
		form.Set("sub", sub)
	}
	if sid != "" {
		form.Set("sid", sid)
	}
	var r struct {
		LogoutToken string `json:"logout_token"`
	}
	o.postJSON(t, "/__test/logout-token", form, &r)
	return r.LogoutToken
}

func (o *OP) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	o.do(t, http.MethodGet, path, nil, v)
}

func (o *OP) postJSON(t testing.TB, path string, form url.Values, v any) {
	t.Helper()
	o.do(t, http.MethodPost, path, form, v)
}

func (o *OP) do(t testing.TB, method, path string, form url.Values, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, o.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := o.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, b)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
