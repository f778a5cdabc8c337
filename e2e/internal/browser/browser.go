// Package browser drives Debian's Chromium, headless, through chromedp, for
// the end-to-end scenarios: navigate, fill and click, read the URL and the
// cookies, and keep a record of every request the browser made, redirects
// and form posts included.
//
// Every method fails the test on error (t.Fatalf) and is bounded by
// Browser.Timeout, so that a scenario reads as a list of steps.
//
// Chromium starts with a fixed, small set of flags that keep it off the
// network (see Flags); chromedp.DefaultExecAllocatorOptions is not used. Each
// Browser is a separate process with an empty profile in t.TempDir(). On 2
// cores, do not run browser tests in parallel.
package browser

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/endsession/endsession/e2e/internal/peers"
)

// Flags are the Chromium command-line switches, exactly, with
// HostResolverRules; chromedp adds --remote-debugging-pipe, --user-data-dir
// and the first page, about:blank. (Debian's /usr/bin/chromium wrapper adds
// its /etc/chromium.d defaults in front.) The background-networking,
// component-update and sync switches keep Chromium from calling Google's
// hosts, which this machine cannot reach.
var Flags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"no-first-run",
	"no-default-browser-check",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
	"disable-quic",
}

// HostResolverRules is passed as --host-resolver-rules. Even with Flags,
// Chromium 156 looks up accounts.google.com and clients2.google.com at
// start, and after a failed navigation it probes DNS at 8.8.8.8 (both seen
// with strace). This rule sends every host but loopback to 127.0.0.1:1,
// where nothing listens: no name is ever looked up, and a stray URL fails
// with ERR_CONNECTION_REFUSED instead of leaving the machine.
var HostResolverRules = "MAP * 127.0.0.1:1, EXCLUDE 127.0.0.1, EXCLUDE localhost, EXCLUDE [::1]"

// DefaultTimeout bounds each step.
var DefaultTimeout = 15 * time.Second

// Browser is one tab of a Chromium process.
type Browser struct {
	t   testing.TB
	ctx context.Context
	// Timeout bounds each step; DefaultTimeout unless changed.
	Timeout time.Duration

	mainFrame cdp.FrameID
	rec       *recorder
	output    *lockedBuffer // Chromium's own stdout and stderr
}

// New starts a Chromium with an empty profile. It stops when the test ends.
// Without Chromium the test is skipped (or fails under CI=true).
func New(t testing.TB) *Browser {
	t.Helper()
	exe := peers.RequireChromium(t)
	if exe == "" {
		return nil
	}
	profile := t.TempDir() // registered first, so removed after Chromium stops

	out := &lockedBuffer{}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.UserDataDir(profile), chromedp.CombinedOutput(out)}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	if HostResolverRules != "" {
		opts = append(opts, chromedp.Flag("host-resolver-rules", HostResolverRules))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		t.Logf("chromedp: "+format, args...)
	}))
	b := &Browser{t: t, ctx: ctx, Timeout: DefaultTimeout, rec: &recorder{}, output: out}
	t.Cleanup(func() {
		if t.Failed() {
			b.dumpState()
		}
		cancel()
		cancelAlloc()
	})

	// The first Run starts the browser; it must not have a deadline, so it is
	// watched from here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium %s: %v\n%s", exe, err, out.String())
		}
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("chromium %s did not start within 30s\n%s", exe, out.String())
	}
	b.attach()
	return b
}

// NewTab opens another tab in the same browser: same cookies, as a user
// with two tabs of the app.
func (b *Browser) NewTab() *Browser {
	b.t.Helper()
	return b.child()
}

// NewIsolated opens a tab in a new, empty browser context of the same
// process (like an incognito window): no cookies shared with b. Cheaper than
// New for a "second device".
func (b *Browser) NewIsolated() *Browser {
	b.t.Helper()
	return b.child(chromedp.WithNewBrowserContext())
}

func (b *Browser) child(opts ...chromedp.ContextOption) *Browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	c := &Browser{t: b.t, ctx: ctx, Timeout: b.Timeout, rec: &recorder{}, output: b.output}
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	c.attach()
	return c
}

// attach starts the request record and sets the post-data limit.
func (b *Browser) attach() {
	b.t.Helper()
	c := chromedp.FromContext(b.ctx)
	b.mainFrame = cdp.FrameID(c.Target.TargetID)
	b.rec.mainFrame = b.mainFrame
	if err := chromedp.Listen(b.ctx, b.rec.handle); err != nil {
		b.t.Fatalf("listen to the browser: %v", err)
	}
	max := int64(1 << 20)
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{MaxPostDataSize: &max}); err != nil {
		b.t.Fatalf("enable the network domain: %v", err)
	}
}

// Context returns the chromedp context of the tab, for actions that have no
// helper here: chromedp.Run(b.Context(), ...).
func (b *Browser) Context() context.Context { return b.ctx }

// step runs one bounded step and fails the test on error.
func (b *Browser) step(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %s: %v (at %s)", what, err, b.urlNoFail())
	}
}

// Run runs a chromedp action bounded by the step timeout and returns its value.
func Run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v (at %s)", what, err, b.urlNoFail())
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and returns its value.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	return Run(b, "evaluate "+expr, chromedp.Evaluate[T](expr))
}

// Navigate opens u and waits for the page to load (after any redirects).
func (b *Browser) Navigate(u string) {
	b.t.Helper()
	b.step("navigate to "+u, chromedp.Navigate(u))
}

// URL returns the current document's URL.
func (b *Browser) URL() string {
	b.t.Helper()
	return Run(b, "read the location", chromedp.Location())
}

func (b *Browser) urlNoFail() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown location: " + err.Error()
	}
	return u
}

// WaitVisible waits until the CSS selector matches a visible element.
func (b *Browser) WaitVisible(css string) {
	b.t.Helper()
	b.step("wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
}

// Fill sets the value of the form field that matches the CSS selector.
func (b *Browser) Fill(css, value string) {
	b.t.Helper()
	b.step("fill "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.SetValue(chromedp.CSS(css), value))
}

// Type types value into the field that matches the CSS selector, key by key.
func (b *Browser) Type(css, value string) {
	b.t.Helper()
	b.step("type into "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.SendKeys(chromedp.CSS(css), value))
}

// Click clicks the element that matches the CSS selector. It does not wait
// for a navigation that the click starts: follow it with WaitURL.
func (b *Browser) Click(css string) {
	b.t.Helper()
	b.step("click "+css, chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Click(chromedp.CSS(css)))
}

// Exists reports whether the CSS selector matches an element now, without
// waiting.
func (b *Browser) Exists(css string) bool {
	b.t.Helper()
	return Eval[bool](b, fmt.Sprintf("document.querySelector(%q) !== null", css))
}

// Text returns the visible text of the element that matches the CSS selector.
func (b *Browser) Text(css string) string {
	b.t.Helper()
	return Run(b, "read the text of "+css, chromedp.Text(chromedp.CSS(css)))
}

// HTML returns the current document's HTML.
func (b *Browser) HTML() string {
	b.t.Helper()
	return Eval[string](b, "document.documentElement.outerHTML")
}

// WaitURL waits until the current document's URL satisfies match and the
// document has loaded. Use it after a click or a form that navigates,
// possibly through redirects and auto-submitting forms.
func (b *Browser) WaitURL(what string, match func(*url.URL) bool) *url.URL {
	b.t.Helper()
	deadline := time.Now().Add(b.Timeout)
	last := ""
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		state, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.location.href, document.readyState]`))
		cancel()
		if err == nil && len(state) == 2 {
			last = state[0]
			if u, perr := url.Parse(state[0]); perr == nil && state[1] == "complete" && match(u) {
				return u
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: the URL did not become %s within %v; last %s\nnavigations:\n%s",
				what, b.Timeout, last, strings.Join(b.NavigationURLs(), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitURLPrefix waits until the URL starts with prefix. See WaitURL.
func (b *Browser) WaitURLPrefix(prefix string) *url.URL {
	b.t.Helper()
	return b.WaitURL("a URL starting with "+prefix, func(u *url.URL) bool { return strings.HasPrefix(u.String(), prefix) })
}

// Cookies returns the cookies that the browser would send to the URL (or to
// the current page when none is given), HttpOnly ones included.
func (b *Browser) Cookies(urls ...string) []*network.Cookie {
	b.t.Helper()
	return Run(b, "read cookies", func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: urls})
		return res.Cookies, err
	})
}

// Cookie returns the cookie named name that the browser would send to u.
func (b *Browser) Cookie(u, name string) (*network.Cookie, bool) {
	b.t.Helper()
	for _, c := range b.Cookies(u) {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// AllCookies returns every cookie of the browser context, for any site.
func (b *Browser) AllCookies() []*network.Cookie {
	b.t.Helper()
	return Run(b, "read all cookies", func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, t, storage.GetCookies, storage.GetCookiesParams{})
		return res.Cookies, err
	})
}

// SetCookie sets a cookie named name with value for u, at Path=/, as a
// page of u's origin would (an application's own cookie).
func (b *Browser) SetCookie(u, name, value string) {
	b.t.Helper()
	Run(b, "set cookie "+name, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, network.SetCookie, network.SetCookieParams{Name: name, Value: value, URL: u, Path: "/"})
		return chromedp.Void{}, err
	})
}

// DeleteCookie deletes the cookies named name that match u (a lost cookie).
func (b *Browser) DeleteCookie(u, name string) {
	b.t.Helper()
	Run(b, "delete cookie "+name, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: u})
		return chromedp.Void{}, err
	})
}

// ClearCookies deletes every cookie of the browser context.
func (b *Browser) ClearCookies() {
	b.t.Helper()
	Run(b, "clear cookies", func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return chromedp.Void{}, err
	})
}

// Screenshot saves a PNG of the page to path (relative paths go under the
// test's temporary directory) and returns the path.
func (b *Browser) Screenshot(path string) string {
	b.t.Helper()
	png := Run(b, "screenshot", chromedp.CaptureScreenshot())
	if !filepath.IsAbs(path) {
		path = filepath.Join(b.t.TempDir(), path)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return path
}

// dumpState logs where the browser was and what it requested, for a failed test.
func (b *Browser) dumpState() {
	b.t.Logf("browser at %s; requests:\n%s", b.urlNoFail(), b.rec.describe())
	var lines []string
	for _, l := range strings.Split(b.output.String(), "\n") {
		if l != "" && !strings.Contains(l, "dbus/") { // no D-Bus here: noise
			lines = append(lines, l)
		}
	}
	if out := strings.Join(lines, "\n"); out != "" {
		const max = 4000
		if len(out) > max {
			out = "..." + out[len(out)-max:]
		}
		b.t.Logf("chromium output:\n%s", out)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
