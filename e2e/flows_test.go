package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	"github.com/endsession/endsession/session"
)

// login opens the app's protected page in b, signs in as login on the
// provider's own pages (login, then consent when asked), and waits until
// the protected page shows the user. It returns the session the page saw.
func login(t *testing.T, b *browser.Browser, a *app, login string) session.Data {
	t.Helper()
	b.Navigate(a.URL + "/profile")
	return signIn(t, b, a, login)
}

// signIn signs in at the provider's login page, where b is, as login, and
// waits for the protected page. See login.
func signIn(t *testing.T, b *browser.Browser, a *app, login string) session.Data {
	t.Helper()
	b.LoginAtOP(login, "password of "+login)
	b.WaitURL("the protected page", func(u *url.URL) bool { return u.String() == a.URL+"/profile" })
	if got := b.Text("#user"); got != login {
		t.Fatalf("the protected page shows %q, want %q", got, login)
	}
	return a.LastSession()
}

// appCookieNames returns the names of the app's cookies with a value that
// the browser holds, for any path, sorted. A cookie without a value holds
// nothing of the user's (the middleware's marker that no silent login may
// follow a logout that left the provider's session is one).
func appCookieNames(b *browser.Browser) []string {
	var names []string
	for _, c := range b.AllCookies() {
		if isAppCookie(c.Name) && c.Value != "" {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

// sessionCookieNames returns the names of the session cookies (the first
// and its chunks) that the browser would send to the app, sorted.
func sessionCookieNames(b *browser.Browser, a *app) []string {
	var names []string
	for _, c := range b.Cookies(a.URL + "/profile") {
		if a.isSessionCookie(c.Name) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

// loggedOut is what a logout through the button did.
type loggedOut struct {
	Logout    response     // the app's answer to POST /auth/logout
	EndParams url.Values   // what the browser sent to end_session_endpoint
	Landing   *url.URL     // the provider's redirect back to the app
	LandedOn  response     // the app's answer to that redirect
	Final     *url.URL     // where the browser ended up
	Erased    session.Data // the session OnLogout was given
	EndEvent  op.Event     // the provider's end_session.success
	Requests  []string     // the browser's navigations during the logout
	Mark      int64        // the provider's event log before the logout
	Sessions  []op.Event   // session.destroyed events at the provider
}

// logoutWithButton clicks the protected page's sign-out button (a form
// posting to /auth/logout), answers "Yes, sign me out" at the provider, and
// checks every step of a correct logout; see logoutThrough.
func logoutWithButton(t *testing.T, b *browser.Browser, a *app, o *op.OP, wantHint string) loggedOut {
	t.Helper()
	return logoutThrough(t, b, a, o, wantHint, signOutButton, http.MethodGet)
}

// logoutThrough starts a logout from the protected page through entry,
// answers "Yes, sign me out" at the provider, and checks every step of a
// correct logout:
//
//   - the logout response sends the browser to the provider's end-session
//     endpoint (a redirect, a page that navigates there, or a form posted
//     there, as endMethod and the entry say) and expires, in its
//     Set-Cookie headers, every session cookie the browser held;
//   - the browser sends id_token_hint (wantHint; when it is "", any ID
//     token signed by the provider, for the caller to check),
//     post_logout_redirect_uri and state to the end-session endpoint by
//     endMethod, and the provider ends its session;
//   - the provider sends the browser back to /auth/logged-out with the
//     state the app sent, and the app accepts it and goes home;
//   - afterwards the browser holds no cookie of the app, and the provider
//     holds no session of the user.
func logoutThrough(t *testing.T, b *browser.Browser, a *app, o *op.OP, wantHint string, entry logoutEntry, endMethod string) loggedOut {
	t.Helper()
	disc := o.Discovery(t)
	held := sessionCookieNames(b, a)
	if len(held) == 0 {
		t.Fatal("the browser holds no session cookie before the logout")
	}
	b.ResetRequests()
	a.ResetResponses()
	mark := o.Mark(t)
	var res loggedOut
	res.Mark = mark

	sid := b.Text("#sid")
	if n := o.SessionsWithSID(t, sid); n != 1 {
		t.Fatalf("before the logout the provider holds %d session(s) with the session's sid, want 1", n)
	}
	entry.start(t, b, a)
	res.Final = b.ConfirmLogoutAtOP(true)
	res.Requests = b.NavigationURLs()
	if res.Final.String() != a.URL+"/" || !b.Exists("#home") {
		t.Fatalf("after the logout the browser is at %s, want the app's home %s/", res.Final, a.URL)
	}

	// The logout response: local deletion first, then the provider.
	res.Logout = checkLogoutResponse(t, a, entry, endMethod, disc.EndSessionEndpoint)
	expired := map[string]bool{}
	for _, c := range res.Logout.Cookies() {
		if c.MaxAge < 0 && c.Value == "" && c.Path == "/" {
			expired[c.Name] = true
		}
	}
	for _, name := range held {
		if !expired[name] {
			t.Errorf("the logout response does not expire the session cookie %q; its Set-Cookie headers:\n%s",
				name, strings.Join(res.Logout.Header.Values("Set-Cookie"), "\n"))
		}
	}

	// The browser at the provider's end-session endpoint.
	ends := b.RequestsTo(disc.EndSessionEndpoint)
	if len(ends) == 0 {
		t.Fatalf("the browser never went to %s:\n%s", disc.EndSessionEndpoint, strings.Join(res.Requests, "\n"))
	}
	if ends[0].Method != endMethod {
		t.Errorf("end-session request %s, want a %s", ends[0], endMethod)
	}
	res.EndParams = ends[0].Params()
	switch got := res.EndParams.Get("id_token_hint"); {
	case got == "":
		t.Error("no id_token_hint sent to the end-session endpoint")
	case wantHint == "":
		o.VerifyJWT(t, got)
	case got != wantHint:
		t.Errorf("id_token_hint is not the expected ID token:\n got  %.60s...\n want %.60s...", got, wantHint)
	}
	if got := res.EndParams.Get("post_logout_redirect_uri"); got != a.URL+op.LoggedOutPath {
		t.Errorf("post_logout_redirect_uri %q, want %q", got, a.URL+op.LoggedOutPath)
	}
	sent := res.EndParams.Get("state")
	if sent == "" {
		t.Error("no state sent to the end-session endpoint")
	}

	// The provider ended its session.
	res.EndEvent = o.WaitEvent(t, mark, "end_session.success", func(e op.Event) bool {
		return e.Str("client_id") == a.ClientID
	})
	if !res.EndEvent.Bool("signed_out_of_op") {
		t.Errorf("the provider did not end its session: %s", res.EndEvent)
	}
	if errs := o.Events(t, mark, "end_session.error"); len(errs) > 0 {
		t.Errorf("the provider refused the end-session request: %v", errs)
	}
	res.Sessions = o.Events(t, mark, "session.destroyed")
	if n := o.SessionsWithSID(t, sid); n != 0 {
		t.Errorf("after the logout the provider still holds the session (its admin view finds %d)", n)
	}

	// Back at the app, with the state it sent.
	lands := b.RequestsTo(a.URL + op.LoggedOutPath)
	if len(lands) != 1 {
		t.Fatalf("%d requests to %s, want 1:\n%s", len(lands), op.LoggedOutPath, strings.Join(res.Requests, "\n"))
	}
	res.Landing, _ = url.Parse(lands[0].URL)
	if got := res.Landing.Query()["state"]; len(got) != 1 || got[0] != sent {
		t.Errorf("the provider returned state %q, the app sent %q", got, sent)
	}
	res.LandedOn = a.Response(http.MethodGet, op.LoggedOutPath)
	if res.LandedOn.Status != http.StatusSeeOther || res.LandedOn.Header.Get("Location") != "/" {
		t.Errorf("the post-logout landing answered %s, want 303 to /", res.LandedOn)
	}

	// Nothing of the app is left in the browser.
	if left := appCookieNames(b); len(left) > 0 {
		t.Errorf("after the logout the browser still holds the app's cookies %v", left)
	}
	erased := a.Erased()
	if len(erased) == 0 {
		t.Fatal("OnLogout was not called")
	}
	res.Erased = erased[len(erased)-1]
	return res
}

// requireLoginForm opens the protected page and checks that the provider
// asks for the password again: its session is over, so there is no silent
// login, and the app's callback is never reached.
func requireLoginForm(t *testing.T, b *browser.Browser, a *app, o *op.OP) {
	t.Helper()
	b.ResetRequests()
	b.Navigate(a.URL + "/profile")
	b.WaitVisible(browser.OPLoginField)
	if u := b.URL(); !strings.HasPrefix(u, o.URL+"/") {
		t.Errorf("the login form is at %s, not at the provider", u)
	}
	if cb := b.RequestsTo(a.URL + op.CallbackPath); len(cb) > 0 {
		t.Errorf("the browser was signed in again without a password: %v", cb)
	}
}

// TestLoginAtProviderPages is scenario 1: the protected page sends the
// browser to the provider, which shows its own login page and then its
// consent page; the browser comes back to the app's callback and then to
// the protected page, which shows the user.
func TestLoginAtProviderPages(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	disc := o.Discovery(t)
	mark := o.Mark(t)

	b.Navigate(a.URL + "/profile")
	b.WaitVisible(browser.OPLoginField)
	auth := b.RequestsTo(disc.AuthorizationEndpoint)
	if len(auth) != 1 {
		t.Fatalf("%d authorization requests, want 1:\n%s", len(auth), strings.Join(b.NavigationURLs(), "\n"))
	}
	q := auth[0].Query()
	for k, want := range map[string]string{
		"client_id":             op.ConfidentialClientID,
		"response_type":         "code",
		"redirect_uri":          a.URL + op.CallbackPath,
		"code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization request %s=%q, want %q", k, got, want)
		}
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), "openid") || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge") == "" {
		t.Errorf("authorization request lacks openid, state, nonce or PKCE: %s", auth[0].URL)
	}

	d := signIn(t, b, a, "alice")
	if got := b.Text("#email"); got != "alice@example.test" {
		t.Errorf("email %q", got)
	}
	if got := b.Text("#name"); got != "Alice Example" {
		t.Errorf("name %q", got)
	}

	// The provider asked for the password and for consent.
	var prompts []string
	for _, e := range o.Events(t, mark, "interaction.started") {
		prompts = append(prompts, e.Str("prompt"))
	}
	if !slices.Equal(prompts, []string{"login", "consent"}) {
		t.Errorf("the provider's interactions were %v, want [login consent]", prompts)
	}
	o.WaitEvent(t, mark, "grant.success", func(e op.Event) bool {
		return e.Str("grant_type") == "authorization_code" && e.Str("client_id") == op.ConfidentialClientID && e.Str("account_id") == "alice"
	})

	// The callback: the code came back with the state and iss, and the app
	// made a session and went back to the page that asked for login.
	cb := b.RequestsTo(a.URL + op.CallbackPath)
	if len(cb) != 1 || cb[0].Query().Get("code") == "" || cb[0].Query().Get("state") != q.Get("state") || cb[0].Query().Get("iss") != o.URL {
		t.Fatalf("callback requests %v", cb)
	}
	resp := a.Response(http.MethodGet, op.CallbackPath)
	if resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != "/profile" {
		t.Errorf("callback answered %s, want 303 to /profile", resp)
	}
	if names := sessionCookieNames(b, a); !slices.Equal(names, []string{sessionCookie}) {
		t.Errorf("session cookies %v, want [%s]", names, sessionCookie)
	}
	if c, ok := b.Cookie(a.URL, sessionCookie); !ok || !c.HTTPOnly || c.SameSite != "Lax" || c.Path != "/" {
		t.Errorf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", c)
	}

	// The session holds the provider's verified ID token.
	claims := o.VerifyJWT(t, d.IDToken)
	if d.Subject != "alice" || claims["sub"] != "alice" || claims["aud"] != op.ConfidentialClientID || d.SID == "" || claims["sid"] != d.SID {
		t.Errorf("session subject %q sid %q, ID token claims %v", d.Subject, d.SID, claims)
	}
	if d.AccessToken == "" || d.RefreshToken == "" {
		t.Error("the session lacks the access or refresh token")
	}
}

// TestLogoutButton is scenario 2: the user clicks the app's sign-out
// button; the app expires its cookies in the logout response, sends the
// browser to the provider's end-session endpoint with id_token_hint,
// post_logout_redirect_uri and state; the provider asks, ends its session,
// and sends the browser back with the same state. Afterwards the protected
// page asks for the password again.
func TestLogoutButton(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	d := login(t, b, a, "bob")

	res := logoutWithButton(t, b, a, o, d.IDToken)
	if res.Erased.Subject != "bob" || res.Erased.ID != d.ID {
		t.Errorf("OnLogout got session %q of %q, want %q of bob", res.Erased.ID, res.Erased.Subject, d.ID)
	}
	if len(res.Sessions) == 0 || res.Sessions[0].Str("account_id") != "bob" {
		t.Errorf("the provider destroyed sessions %v, want bob's", res.Sessions)
	}
	requireLoginForm(t, b, a, o)
}

// TestLogoutAfterIDTokenExpired is scenario 3: with a private provider
// whose ID tokens last 3 seconds, two users log out after their ID tokens
// have expired, and the provider accepts the hint each time.
//
//   - carol's session has a refresh token the provider still honours: the
//     middleware refreshes it during the logout (refresh before logout) and
//     sends the fresh ID token, not the expired one, as id_token_hint.
//   - cora's refresh token was revoked at the provider meanwhile: the
//     refresh fails, and the middleware sends the stored, expired ID token.
func TestLogoutAfterIDTokenExpired(t *testing.T) {
	addr := "http://" + peers.AppAddr(t)
	o := op.Start(t, op.Config{AppURLs: []string{addr}, IDTokenTTL: 3 * time.Second})
	b := browser.New(t)
	b2 := b.NewIsolated() // another browser profile, for the second user
	a := startApp(t, o)
	carol := login(t, b, a, "carol")
	cora := login(t, b2, a, "cora")

	var exp time.Time
	for _, d := range []session.Data{carol, cora} {
		e := time.Unix(int64(o.VerifyJWT(t, d.IDToken)["exp"].(float64)), 0)
		if !d.IDTokenExpiry.Equal(e) {
			t.Errorf("session IDTokenExpiry %v, ID token exp %v", d.IDTokenExpiry, e)
		}
		if e.After(exp) {
			exp = e
		}
	}
	time.Sleep(time.Until(exp) + 1100*time.Millisecond)
	// The sessions outlive their ID tokens: the app still knows the users.
	b.Navigate(a.URL + "/profile")
	b2.Navigate(a.URL + "/profile")
	if got, got2 := b.Text("#user"), b2.Text("#user"); got != "carol" || got2 != "cora" {
		t.Fatalf("after the ID tokens expired the protected page shows %q and %q", got, got2)
	}

	// carol: refresh before logout, a fresh ID token as the hint.
	res := logoutWithButton(t, b, a, o, "")
	hint := res.EndParams.Get("id_token_hint")
	claims := o.VerifyJWT(t, hint)
	if hint == carol.IDToken {
		t.Error("the expired ID token was sent although the refresh token was good")
	}
	if claims["sub"] != "carol" || claims["sid"] != carol.SID || claims["aud"] != op.ConfidentialClientID {
		t.Errorf("the fresh hint's claims %v, want carol's, sid %q", claims, carol.SID)
	}
	seen := endSessionRequest(t, o, res.Mark)
	if hintExp := time.Unix(int64(claims["exp"].(float64)), 0); !hintExp.After(seen.Time()) {
		t.Errorf("the fresh hint expired at %v, before the provider saw it at %v", hintExp, seen.Time())
	}
	refresh := o.WaitEvent(t, res.Mark, "grant.success", func(e op.Event) bool {
		return e.Str("grant_type") == "refresh_token" && e.Str("account_id") == "carol"
	})
	consumed := o.WaitEvent(t, res.Mark, "refresh_token.consumed", func(e op.Event) bool {
		return e.Str("token_hash") == tokenHash(carol.RefreshToken)
	})
	if refresh.Seq() > seen.Seq() || consumed.Seq() > seen.Seq() {
		t.Errorf("the refresh (seq %d) came after the end-session request (seq %d)", refresh.Seq(), seen.Seq())
	}
	requireStep(t, a, "provider.refresh_id_token", true)
	t.Log("refresh before logout: a fresh ID token was sent as id_token_hint, and the provider accepted it")

	// cora: the provider no longer honours the refresh token; the stored,
	// expired ID token is sent, and the provider accepts it.
	if status := o.Revoke(t, op.ConfidentialClientID, op.ConfidentialClientSecret, cora.RefreshToken, "refresh_token"); status != http.StatusOK {
		t.Fatalf("revoking cora's refresh token at the provider: %d", status)
	}
	res = logoutWithButton(t, b2, a, o, cora.IDToken)
	seen = endSessionRequest(t, o, res.Mark)
	if hintExp := time.Unix(int64(op.Claims(t, res.EndParams.Get("id_token_hint"))["exp"].(float64)), 0); !hintExp.Before(seen.Time()) {
		t.Errorf("the hint was not expired when the provider saw it: exp %v, seen at %v", hintExp, seen.Time())
	}
	o.WaitEvent(t, res.Mark, "grant.error", func(e op.Event) bool { return e.Str("grant_type") == "refresh_token" })
	requireStep(t, a, "provider.refresh_id_token", false)
	requireLoginForm(t, b, a, o)
	requireLoginForm(t, b2, a, o)
}

// endSessionRequest returns the provider's record of the browser's GET to
// its end-session endpoint after mark, and checks that it came with an
// id_token_hint and was answered 200 (the question page, not an error).
func endSessionRequest(t *testing.T, o *op.OP, mark int64) op.Event {
	t.Helper()
	e := o.WaitEvent(t, mark, "http.request", func(e op.Event) bool {
		return e.Str("route") == "end_session" && e.Str("method") == http.MethodGet
	})
	if !e.Bool("id_token_hint") || e.Int("status") != http.StatusOK {
		t.Errorf("the provider's end-session request: %s", e)
	}
	return e
}

// requireStep checks the last logout report's step name: present, and
// successful or failed as ok says.
func requireStep(t *testing.T, a *app, name string, ok bool) {
	t.Helper()
	reps := a.Reports()
	if len(reps) == 0 {
		t.Fatal("no logout report")
	}
	rep := reps[len(reps)-1]
	for _, s := range rep.Steps {
		if s.Name == name {
			if s.OK != ok {
				t.Errorf("logout step %s: ok %v (%s), want ok %v", name, s.OK, s.Detail, ok)
			}
			return
		}
	}
	t.Errorf("the logout report has no step %s: %+v", name, rep.Steps)
}

// tokenHash is how the provider's event log names a token: the first 16
// hex digits of its SHA-256.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// TestBigIDTokenLoginLogout is scenario 4: a user whose ID token is over
// 8 KB (login "bigclaims") logs in, the session is split over several
// cookies, each under the browser's 4 KB limit, and logs out, which expires
// every one of them.
func TestBigIDTokenLoginLogout(t *testing.T) {
	o := op.Shared(t)
	b := browser.New(t)
	a := startApp(t, o)
	d := login(t, b, a, op.BigClaimsLogin)
	if len(d.IDToken) <= 8<<10 {
		t.Fatalf("the ID token is %d bytes, want over 8 KB", len(d.IDToken))
	}

	names := sessionCookieNames(b, a)
	want := []string{sessionCookie}
	for i := 1; i < len(names); i++ {
		want = append(want, sessionCookie+"."+strconv.Itoa(i))
	}
	if len(names) < 3 || !slices.Equal(names, want) {
		t.Fatalf("session cookies %v, want %s split in 3 or more chunks (%s, %s.1, %s.2, ...)", names, sessionCookie, sessionCookie, sessionCookie, sessionCookie)
	}
	total := 0
	for _, c := range b.Cookies(a.URL + "/profile") {
		if slices.Contains(names, c.Name) {
			if n := len(c.Name) + len(c.Value); n > 4096 {
				t.Errorf("cookie %s is %d bytes, over the 4096 browsers keep", c.Name, n)
			}
			total += len(c.Value)
		}
	}
	t.Logf("ID token %d bytes, session in %d cookies, %d bytes in all", len(d.IDToken), len(names), total)
	if got := b.Text("#email"); got != "bigclaims@example.test" {
		t.Errorf("email %q", got)
	}

	res := logoutWithButton(t, b, a, o, d.IDToken)
	for _, c := range res.Logout.Cookies() {
		if c.MaxAge >= 0 && a.isSessionCookie(c.Name) {
			t.Errorf("the logout response sets session cookie %s", c.Name)
		}
	}
	requireLoginForm(t, b, a, o)
}
