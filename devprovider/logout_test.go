package devprovider_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
)

// receiver is a relying party's back-channel logout endpoint that verifies
// what it gets with go-oidc.
type receiver struct {
	srv    *httptest.Server
	status int

	mu     sync.Mutex
	tokens []*oidc.LogoutToken
	raw    []string
	errs   []error
}

func newReceiver(t *testing.T, verifier *oidc.IDTokenVerifier, status int) *receiver {
	rc := &receiver{status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.PostFormValue("logout_token")
		lt, err := verifier.VerifyLogout(r.Context(), raw)
		rc.mu.Lock()
		rc.raw = append(rc.raw, raw)
		if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			rc.errs = append(rc.errs, err)
		} else {
			rc.tokens = append(rc.tokens, lt)
		}
		rc.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() ([]*oidc.LogoutToken, []string, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.tokens, rc.raw, rc.errs
}

// logoutSetup is a provider with three clients signed in in one browser:
// "web" and "admin" with back-channel receivers, "wiki" with a front-channel
// URI.
type logoutSetup struct {
	op         *devprovider.Server
	clk        *clock
	b          *browser
	rps        map[string]*rp
	tokens     map[string]*oauth2.Token
	idTokens   map[string]*oidc.IDToken
	receivers  map[string]*receiver
	frontURI   string
	sid        string
	webIDToken string
}

func newLogoutSetup(t *testing.T, webStatus int) *logoutSetup {
	t.Helper()
	clk := newClock()
	op := start(t, devprovider.Config{AutoLogin: "alice", Now: clk.Now, Clients: []devprovider.Client{}})
	s := &logoutSetup{
		op: op, clk: clk, b: newBrowser(t),
		rps: map[string]*rp{}, tokens: map[string]*oauth2.Token{}, idTokens: map[string]*oidc.IDToken{},
		receivers: map[string]*receiver{},
		frontURI:  "http://127.0.0.1:1/front?tenant=7",
	}
	for _, id := range []string{"web", "admin", "wiki"} {
		c := devprovider.Client{ID: id, Secret: id + "-secret", RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{afterLogout}}
		provider, err := oidc.NewProvider(context.Background(), op.Issuer())
		if err != nil {
			t.Fatal(err)
		}
		switch id {
		case "web", "admin":
			status := http.StatusOK
			if id == "web" {
				status = webStatus
			}
			rc := newReceiver(t, provider.Verifier(&oidc.Config{ClientID: id, Now: clk.Now}), status)
			s.receivers[id] = rc
			c.BackchannelLogoutURI = rc.srv.URL + "/backchannel"
		case "wiki":
			c.FrontchannelLogoutURI = s.frontURI
		}
		if err := op.AddClient(c); err != nil {
			t.Fatal(err)
		}
		s.rps[id] = newRP(t, op, id, id+"-secret", clk.Now)
		s.tokens[id], s.idTokens[id] = loginAndExchange(t, s.b, s.rps[id])
	}
	var claims struct{ Sid string }
	s.idTokens["web"].Claims(&claims)
	s.sid = claims.Sid
	s.webIDToken = s.tokens["web"].Extra("id_token").(string)
	for id, idt := range s.idTokens {
		var c struct{ Sid string }
		idt.Claims(&c)
		if c.Sid != s.sid {
			t.Fatalf("client %s has sid %q, want the session's %q", id, c.Sid, s.sid)
		}
	}
	return s
}

// signedIn reports whether the browser still has a provider session.
func (s *logoutSetup) signedIn(t *testing.T) bool {
	t.Helper()
	resp := s.b.get(s.rps["web"].authURL(newFlow(), oauth2.SetAuthURLParam("prompt", "none")))
	q := resp.location(t).Query()
	return q.Get("code") != "" && q.Get("error") == ""
}

func (s *logoutSetup) endSession(method string, params url.Values) response {
	u := s.op.Issuer() + "/end_session"
	if method == http.MethodPost {
		return s.b.post(u, params)
	}
	return s.b.get(u + "?" + params.Encode())
}

func TestEndSession(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			s := newLogoutSetup(t, http.StatusOK)
			// The hint has expired: the provider must accept it anyway.
			s.clk.Add(10 * time.Minute)
			if !s.signedIn(t) {
				t.Fatal("not signed in before logout")
			}
			s.op.ResetRequests()
			resp := s.endSession(method, url.Values{
				"id_token_hint":            {s.webIDToken},
				"post_logout_redirect_uri": {afterLogout},
				"state":                    {"st/1+2"},
				"client_id":                {"web"},
				"logout_hint":              {"alice"},
				"ui_locales":               {"fr-CA fr"},
			})

			// The wiki's front-channel iframe comes first, then the redirect.
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (front-channel page); body:\n%s", resp.status, resp.body)
			}
			frames := iframeRE.FindAllStringSubmatch(resp.body, -1)
			if len(frames) != 1 {
				t.Fatalf("iframes = %q, want one", frames)
			}
			wantFrame := "http://127.0.0.1:1/front?" + url.Values{"iss": {s.op.Issuer()}, "sid": {s.sid}, "tenant": {"7"}}.Encode()
			if got := html.UnescapeString(frames[0][1]); got != wantFrame {
				t.Errorf("iframe src = %q, want %q", got, wantFrame)
			}
			if want := `href="` + html.EscapeString(afterLogout+"?state=st%2F1%2B2") + `"`; !strings.Contains(resp.body, want) {
				t.Errorf("page lacks the continue link %s:\n%s", want, resp.body)
			}
			if cookie := resp.header.Get("Set-Cookie"); !strings.HasPrefix(cookie, s.op.SessionCookieName()+"=;") || !strings.Contains(cookie, "Max-Age=0") {
				t.Errorf("Set-Cookie = %q, want the session cookie expired", cookie)
			}
			if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}

			// admin got a valid logout token; web, which asked, got none.
			tokens, _, errs := s.receivers["admin"].received()
			if len(tokens) != 1 || len(errs) != 0 {
				t.Fatalf("admin received %d valid tokens and errors %v, want 1 and none", len(tokens), errs)
			}
			if lt := tokens[0]; lt.Subject != "alice" || lt.SessionID != s.sid || lt.Issuer != s.op.Issuer() ||
				len(lt.Audience) != 1 || lt.Audience[0] != "admin" || lt.TokenID == "" {
				t.Errorf("logout token = %+v", lt)
			}
			if tokens, raw, _ := s.receivers["web"].received(); len(tokens)+len(raw) != 0 {
				t.Errorf("the initiating client got %d logout tokens", len(raw))
			}

			// The session is over, and the tokens granted in it are revoked.
			if s.signedIn(t) {
				t.Error("still signed in at the provider")
			}
			if got := userinfoStatus(t, s.op, s.tokens["admin"].AccessToken); got != http.StatusUnauthorized {
				t.Errorf("admin's access token after logout: %d, want 401", got)
			}

			// The request was recorded as sent.
			req := s.op.Requests()[0]
			params := req.Query
			if method == http.MethodPost {
				params = req.Form
			}
			if req.Method != method || req.Path != "/end_session" || params.Get("state") != "st/1+2" || params.Get("ui_locales") != "fr-CA fr" {
				t.Errorf("recorded request = %+v", req)
			}
		})
	}
}

func TestEndSessionRedirect(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice"})
	r := newRP(t, op, defaultClient, webSecret, nil)
	b := newBrowser(t)
	tok, _ := loginAndExchange(t, b, r)
	hint := tok.Extra("id_token").(string)

	tests := []struct {
		name   string
		params url.Values
		want   string
	}{
		{"hint and state", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {afterLogout}, "state": {"abc"}}, afterLogout + "?state=abc"},
		{"again: logout is idempotent", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {afterLogout}, "state": {"def"}}, afterLogout + "?state=def"},
		{"client_id without hint, no state", url.Values{"client_id": {defaultClient}, "post_logout_redirect_uri": {afterLogout}}, afterLogout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.get(op.Issuer() + "/end_session?" + tc.params.Encode())
			if resp.status != http.StatusFound || resp.header.Get("Location") != tc.want {
				t.Errorf("status %d Location %q, want 302 %q", resp.status, resp.header.Get("Location"), tc.want)
			}
		})
	}
}

func TestEndSessionSignedOutPage(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice"})
	b := newBrowser(t)
	loginAndExchange(t, b, newRP(t, op, defaultClient, webSecret, nil))
	resp := b.get(op.Issuer() + "/end_session")
	if resp.status != http.StatusOK || !strings.Contains(resp.body, "You are signed out") || resp.header.Get("Location") != "" {
		t.Errorf("status %d, body:\n%s", resp.status, resp.body)
	}
}

func TestEndSessionRejects(t *testing.T) {
	other := devprovider.Client{ID: "other", Secret: "x", RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{"http://127.0.0.1:1/other"}}
	op := start(t, devprovider.Config{AutoLogin: "alice", Clients: []devprovider.Client{webClient(), other}})
	r := newRP(t, op, defaultClient, webSecret, nil)
	b := newBrowser(t)
	tok, _ := loginAndExchange(t, b, r)
	hint := tok.Extra("id_token").(string)
	claims := op.IDTokenClaims(defaultClient, "alice")
	otherIssuer := op.IDTokenClaims(defaultClient, "alice")
	otherIssuer["iss"] = "http://127.0.0.1:2"
	// A real token whose payload names another client: the signature breaks.
	parts := strings.Split(hint, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte(`"aud":"web"`), []byte(`"aud":"other"`), 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]

	tests := []struct {
		name   string
		params url.Values
		want   string
	}{
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://127.0.0.1:1/evil"}},
			"The post_logout_redirect_uri is not registered for this client."},
		{"another client's post_logout_redirect_uri", url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://127.0.0.1:1/other"}},
			"The post_logout_redirect_uri is not registered for this client."},
		{"post_logout_redirect_uri alone", url.Values{"post_logout_redirect_uri": {afterLogout}},
			"A post_logout_redirect_uri needs an id_token_hint or a client_id."},
		{"client_id not the hint's audience", url.Values{"id_token_hint": {hint}, "client_id": {"other"}, "post_logout_redirect_uri": {"http://127.0.0.1:1/other"}},
			"The client_id does not match the audience of the id_token_hint."},
		{"unknown client_id", url.Values{"client_id": {"nobody"}}, "Unknown client_id."},
		{"hint with alg none", url.Values{"id_token_hint": {op.Forge(claims, devprovider.ForgeNone)}, "post_logout_redirect_uri": {afterLogout}},
			"The id_token_hint was not issued by this provider."},
		{"hint signed with HS256 and the public key", url.Values{"id_token_hint": {op.Forge(claims, devprovider.ForgeHS256PublicKey)}, "post_logout_redirect_uri": {afterLogout}},
			"The id_token_hint was not issued by this provider."},
		{"hint signed with an unknown key", url.Values{"id_token_hint": {op.Forge(claims, devprovider.ForgeUnknownKey)}, "post_logout_redirect_uri": {afterLogout}},
			"The id_token_hint was not issued by this provider."},
		{"hint from another issuer", url.Values{"id_token_hint": {op.SignIDToken(otherIssuer)}, "post_logout_redirect_uri": {afterLogout}},
			"The id_token_hint was not issued by this provider."},
		{"hint with a tampered payload", url.Values{"id_token_hint": {tampered}, "post_logout_redirect_uri": {"http://127.0.0.1:1/other"}},
			"The id_token_hint was not issued by this provider."},
		{"hint that is not a JWT", url.Values{"id_token_hint": {"hello"}}, "The id_token_hint was not issued by this provider."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var resp response
				if method == http.MethodGet {
					resp = b.get(op.Issuer() + "/end_session?" + tc.params.Encode())
				} else {
					resp = b.post(op.Issuer()+"/end_session", tc.params)
				}
				if resp.status != http.StatusBadRequest || resp.header.Get("Location") != "" {
					t.Errorf("%s: status %d Location %q, want 400 and no redirect", method, resp.status, resp.header.Get("Location"))
				}
				if !strings.Contains(resp.body, html.EscapeString(tc.want)) {
					t.Errorf("%s: page does not say %q:\n%s", method, tc.want, resp.body)
				}
				if resp.header.Get("Set-Cookie") != "" {
					t.Errorf("%s: a rejected logout touched the session cookie", method)
				}
			}
		})
	}
	// None of them ended the session.
	resp := b.get(r.authURL(newFlow(), oauth2.SetAuthURLParam("prompt", "none")))
	if resp.location(t).Query().Get("code") == "" {
		t.Error("a rejected logout ended the provider session")
	}
}

// TestEndSessionWithoutCookie ends the session the hint names when the
// request carries no provider cookie, as a server-side call would.
func TestEndSessionWithoutCookie(t *testing.T) {
	s := newLogoutSetup(t, http.StatusOK)
	resp := newBrowser(t).get(s.op.Issuer() + "/end_session?" + url.Values{
		"id_token_hint": {s.webIDToken}, "post_logout_redirect_uri": {afterLogout},
	}.Encode())
	if resp.status != http.StatusOK { // the wiki's front-channel page
		t.Fatalf("status %d", resp.status)
	}
	if tokens, _, _ := s.receivers["admin"].received(); len(tokens) != 1 || tokens[0].SessionID != s.sid {
		t.Errorf("admin got %d logout tokens, want one for sid %s", len(tokens), s.sid)
	}
	if s.signedIn(t) {
		t.Error("the browser's session survived")
	}
}

func TestLogoutUser(t *testing.T) {
	s := newLogoutSetup(t, http.StatusInternalServerError)
	err := s.op.LogoutUser("alice")
	if err == nil || err.Error() != `devprovider: back-channel logout to client "web": status 500` {
		t.Fatalf("LogoutUser error = %v, want web's status 500", err)
	}
	for _, id := range []string{"web", "admin"} {
		_, raw, _ := s.receivers[id].received()
		if len(raw) != 1 {
			t.Fatalf("%s received %d logout tokens, want 1", id, len(raw))
		}
	}
	tokens, raw, errs := s.receivers["admin"].received()
	if len(tokens) != 1 || len(errs) != 0 || tokens[0].SessionID != s.sid || tokens[0].Subject != "alice" {
		t.Fatalf("admin: tokens %+v, errors %v", tokens, errs)
	}
	jws, err := jose.ParseSigned(raw[0], []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if typ := jws.Signatures[0].Header.ExtraHeaders["typ"]; typ != "logout+jwt" {
		t.Errorf("typ = %v, want logout+jwt", typ)
	}
	var claims map[string]any
	tokens[0].Claims(&claims)
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	if iat != float64(s.clk.Now().Unix()) || exp != iat+120 || claims["nonce"] != nil {
		t.Errorf("logout claims = %v", claims)
	}
	if s.signedIn(t) {
		t.Error("still signed in after LogoutUser")
	}
	if got := userinfoStatus(t, s.op, s.tokens["admin"].AccessToken); got != http.StatusUnauthorized {
		t.Errorf("access token after LogoutUser: %d, want 401", got)
	}

	// Nothing left to end.
	if err := s.op.LogoutUser("alice"); err != nil {
		t.Errorf("second LogoutUser: %v", err)
	}
	if err := s.op.LogoutUser("mallory"); err == nil || err.Error() != `devprovider: unknown user "mallory"` {
		t.Errorf("unknown user: %v", err)
	}
}

func TestOfflineAccessSurvivesLogout(t *testing.T) {
	op := start(t, devprovider.Config{AutoLogin: "alice"})
	r := newRP(t, op, defaultClient, webSecret, nil)
	r.conf.Scopes = append(r.conf.Scopes, "offline_access")
	tok, _ := loginAndExchange(t, newBrowser(t), r)
	if err := op.LogoutUser("alice"); err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Second)
	if _, err := r.conf.TokenSource(context.Background(), tok).Token(); err != nil {
		t.Errorf("offline refresh token died with the session: %v", err)
	}
}

func TestLogoutToken(t *testing.T) {
	c := webClient()
	c.AudienceArray = true
	op := start(t, devprovider.Config{Clients: []devprovider.Client{c}})
	provider, err := oidc.NewProvider(context.Background(), op.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: defaultClient})
	tests := []struct {
		name         string
		subject, sid string
		edit         func(map[string]any)
		valid        bool
	}{
		{"sub and sid", "alice", "s1", nil, true},
		{"sid only", "", "s1", nil, true},
		{"sub only", "alice", "", nil, true},
		{"neither sub nor sid", "", "", nil, false},
		{"with a nonce", "alice", "s1", func(c map[string]any) { c["nonce"] = "n" }, false},
		{"no events", "alice", "s1", func(c map[string]any) { delete(c, "events") }, false},
		{"no jti", "alice", "s1", func(c map[string]any) { delete(c, "jti") }, false},
		{"no exp", "alice", "s1", func(c map[string]any) { delete(c, "exp") }, false},
		{"expired", "alice", "s1", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, false},
		{"another audience", "alice", "s1", func(c map[string]any) { c["aud"] = "other" }, false},
		{"another issuer", "alice", "s1", func(c map[string]any) { c["iss"] = "http://127.0.0.1:2" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lt, err := verifier.VerifyLogout(context.Background(), op.LogoutToken(defaultClient, tc.subject, tc.sid, tc.edit))
			if (err == nil) != tc.valid {
				t.Fatalf("VerifyLogout error = %v, want valid %v", err, tc.valid)
			}
			if tc.valid && (lt.Subject != tc.subject || lt.SessionID != tc.sid || len(lt.Audience) != 1 || lt.Audience[0] != defaultClient) {
				t.Errorf("logout token = %+v", lt)
			}
		})
	}
}
