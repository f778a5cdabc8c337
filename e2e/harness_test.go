package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
)

// throwawayRP is a minimal relying party, for this smoke test only: it proves
// the provider's configuration and the browser harness before the real
// middleware exists. It keeps one login at a time.
type throwawayRP struct {
	cfg    *oauth2.Config
	opURL  string
	endURL string
	appURL string

	mu          sync.Mutex
	flows       map[string]string // state -> PKCE verifier
	token       *oauth2.Token
	idToken     string
	logoutState string
	errs        []string
	logoutJWTs  []string
}

func (rp *throwawayRP) fail(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	rp.mu.Lock()
	rp.errs = append(rp.errs, msg)
	rp.mu.Unlock()
	http.Error(w, msg, http.StatusBadRequest)
}

func (rp *throwawayRP) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/login", func(w http.ResponseWriter, r *http.Request) {
		state, verifier := random(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.flows[state] = verifier
		rp.mu.Unlock()
		http.Redirect(w, r, rp.cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", random())), http.StatusFound)
	})
	mux.HandleFunc("GET /auth/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		rp.mu.Lock()
		verifier, ok := rp.flows[q.Get("state")]
		delete(rp.flows, q.Get("state"))
		rp.mu.Unlock()
		if !ok || q.Get("iss") != rp.opURL {
			rp.fail(w, "callback: unknown state or wrong iss in %s", r.URL)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		tok, err := rp.cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			rp.fail(w, "exchange: %v", err)
			return
		}
		idt, _ := tok.Extra("id_token").(string)
		rp.mu.Lock()
		rp.token, rp.idToken = tok, idt
		rp.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "rp_session", Value: "1", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/home", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /home", func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("rp_session"); err != nil {
			http.Redirect(w, r, "/auth/login", http.StatusFound)
			return
		}
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p id="user">signed in</p>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Log out</button></form></body></html>`)
	})
	mux.HandleFunc("POST /auth/logout", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		rp.logoutState = random()
		q := url.Values{
			"id_token_hint":            {rp.idToken},
			"post_logout_redirect_uri": {rp.appURL + op.LoggedOutPath},
			"state":                    {rp.logoutState},
		}
		rp.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "rp_session", Path: "/", MaxAge: -1})
		http.Redirect(w, r, rp.endURL+"?"+q.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+op.LoggedOutPath, func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		want := rp.logoutState
		rp.mu.Unlock()
		if r.URL.Query().Get("state") != want {
			rp.fail(w, "logged-out: state %q, want %q", r.URL.Query().Get("state"), want)
			return
		}
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><p id="bye">%s</p></body></html>`, html.EscapeString("signed out"))
	})
	mux.HandleFunc("POST "+op.BackchannelLogoutPath, func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("logout_token") == "" {
			rp.fail(w, "back-channel: no logout_token")
			return
		}
		rp.mu.Lock()
		rp.logoutJWTs = append(rp.logoutJWTs, r.PostForm.Get("logout_token"))
		rp.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
	})
	return mux
}

// TestBrowserLoginAndLogoutAtRealProvider drives Chromium through the real
// provider's login, consent and logout pages with a throwaway relying party
// (public client, code flow with PKCE) on ENDSESSION_APP_ADDR.
func TestBrowserLoginAndLogoutAtRealProvider(t *testing.T) {
	o := op.Shared(t)
	addr := peers.AppAddr(t)
	b := browser.New(t)
	d := o.Discovery(t)
	appURL := "http://" + addr

	rp := &throwawayRP{
		cfg: &oauth2.Config{
			ClientID:    op.PublicClientID,
			Endpoint:    oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams},
			RedirectURL: appURL + op.CallbackPath,
			Scopes:      []string{"openid", "profile", "email"},
		},
		opURL: o.URL, endURL: d.EndSessionEndpoint, appURL: appURL,
		flows: map[string]string{},
	}
	peers.ServeApp(t, addr, rp.handler())
	t.Cleanup(func() {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		for _, e := range rp.errs {
			t.Errorf("relying party: %s", e)
		}
	})

	// Login: the app sends the browser to the provider, which shows its
	// login page, then its consent page, then redirects to the callback.
	mark := o.Mark(t)
	b.Navigate(appURL + "/auth/login")
	b.LoginAtOP("alice", "any password")
	b.WaitURLPrefix(appURL + "/home")
	if got := b.Text("#user"); got != "signed in" {
		t.Fatalf("home page says %q", got)
	}
	rp.mu.Lock()
	idToken := rp.idToken
	rp.mu.Unlock()
	claims := o.VerifyJWT(t, idToken)
	if claims["sub"] != "alice" || claims["email"] != "alice@example.test" || claims["sid"] == nil {
		t.Fatalf("ID token claims %v", claims)
	}
	if _, ok := b.Cookie(appURL, "rp_session"); !ok {
		t.Fatal("the app's cookie is missing")
	}
	if _, ok := b.Cookie(o.URL, "op_session"); !ok {
		t.Fatal("the provider's session cookie is missing")
	}
	auth := b.RequestsTo(d.AuthorizationEndpoint)
	if len(auth) == 0 || auth[0].Query().Get("code_challenge_method") != "S256" || auth[0].Query().Get("code_challenge") == "" {
		t.Fatalf("no PKCE authorization request among %v", b.NavigationURLs())
	}
	cb := b.RequestsTo(appURL + op.CallbackPath)
	if len(cb) != 1 || cb[0].Query().Get("code") == "" || cb[0].Query().Get("iss") != o.URL || cb[0].Status != http.StatusSeeOther {
		t.Fatalf("callback requests %v", cb)
	}
	o.WaitEvent(t, mark, "grant.success", func(e op.Event) bool {
		return e.Str("client_id") == op.PublicClientID && e.Str("account_id") == "alice"
	})

	// RP-initiated logout: the app sends the browser to end_session with
	// id_token_hint, post_logout_redirect_uri and state; the provider asks,
	// notifies the app on the back channel, and comes back with the state.
	mark = o.Mark(t)
	b.ResetRequests()
	b.Click("#logout")
	back := b.ConfirmLogoutAtOP(true)
	if back.Path != op.LoggedOutPath || b.Text("#bye") != "signed out" {
		t.Fatalf("after logout the browser is at %s", back)
	}
	ends := b.RequestsTo(d.EndSessionEndpoint)
	if len(ends) == 0 {
		t.Fatalf("the browser never went to %s:\n%s", d.EndSessionEndpoint, strings.Join(b.NavigationURLs(), "\n"))
	}
	p := ends[0].Params()
	if ends[0].Method != http.MethodGet || p.Get("id_token_hint") != idToken || p.Get("post_logout_redirect_uri") != appURL+op.LoggedOutPath || p.Get("state") != back.Query().Get("state") {
		t.Fatalf("end-session request %s", ends[0])
	}
	o.WaitEvent(t, mark, "end_session.success", nil)
	o.WaitEvent(t, mark, "backchannel.success", func(e op.Event) bool { return e.Str("sid") == claims["sid"] })
	rp.mu.Lock()
	jwts := rp.logoutJWTs
	rp.mu.Unlock()
	if len(jwts) != 1 || o.VerifyJWT(t, jwts[0])["sid"] != claims["sid"] {
		t.Fatalf("back-channel logout tokens %v", jwts)
	}
	if _, ok := b.Cookie(appURL, "rp_session"); ok {
		t.Fatal("the app's cookie survived the logout")
	}

	// The provider session is over: logging in again asks for the password.
	b.Navigate(appURL + "/auth/login")
	b.WaitVisible(browser.OPLoginField)
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
