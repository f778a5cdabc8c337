package endsession_test

// End-to-end tests of the outbound token source and client: calls to APIs
// on the user's behalf after the handler started, refreshed through the
// middleware's one refresh, failing once the session ended.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
)

// serveAlso adds routes to the application under test, before its own.
func (s *stack) serveAlso(routes map[string]http.Handler) {
	mux := http.NewServeMux()
	mux.Handle("/", appRoutes(s.mw))
	for p, h := range routes {
		mux.Handle(p, h)
	}
	h := s.mw.Handler(mux)
	s.handler.Store(&h)
}

// userInfoStatus calls the provider's userinfo endpoint, an API that
// takes the access token, with client.
func (s *stack) userInfoStatus(client *http.Client) (int, error) {
	resp, err := client.Get(s.op.Issuer() + string(devprovider.UserInfo))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// outboundStack is a stack whose access tokens last ten minutes, with the
// cookie store or a server-side one.
func outboundStack(t *testing.T, server bool) *stack {
	opts := []stackOption{withOP(func(op *devprovider.Config) { op.AccessTokenTTL = 10 * time.Minute })}
	if server {
		opts = append(opts, serverStore(t))
	}
	return newStack(t, opts...)
}

var storeKinds = []struct {
	name   string
	server bool
	locker bool
}{{"cookie", false, false}, {"server", true, false}, {"cookie+locker", false, true}}

// processLocker is a Locker of one process, for the refresh path that
// rereads the session under the lock.
func processLocker() middleware.Locker {
	var mu sync.Mutex
	return middleware.LockerFunc(func(context.Context, string, time.Duration) (func(), error) {
		mu.Lock()
		return mu.Unlock, nil
	})
}

// TestTokenSourceRefreshesOnce: many goroutines of one handler ask for a
// token after it expired, through one source and through sources of their
// own; the provider sees one refresh, every goroutine gets its token, and
// the API takes it.
func TestTokenSourceRefreshesOnce(t *testing.T) {
	s := outboundStack(t, false)
	const n = 16
	s.serveAlso(map[string]http.Handler{"/api/many": s.mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shared := s.mw.TokenSource(r)
		first, err := shared.Token()
		if err != nil {
			t.Errorf("first token: %v", err)
			return
		}
		s.advance(11 * time.Minute)
		tokens := make([]string, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			ts := shared
			if i%2 == 1 {
				ts = s.mw.TokenSource(r)
			}
			wg.Go(func() {
				<-start
				tok, err := ts.Token()
				if err != nil {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
				tokens[i] = tok.AccessToken
			})
		}
		close(start)
		wg.Wait()
		distinct := map[string]bool{}
		for _, tok := range tokens {
			distinct[tok] = true
		}
		status, err := s.userInfoStatus(s.mw.Client(r))
		fmt.Fprintf(w, "distinct=%d stale=%v userinfo=%d err=%v", len(distinct), distinct[first.AccessToken], status, err)
	}))})
	s.login()
	before := s.refreshGrants()
	got := body(s.get("/api/many"))
	if got != "distinct=1 stale=false userinfo=200 err=<nil>" {
		t.Errorf("handler: %s", got)
	}
	if n := s.refreshGrants() - before; n != 1 {
		t.Errorf("the provider saw %d refreshes, want 1", n)
	}
}

// TestTokenSourceOutlivesTheHandler: a handler whose token expires after
// it wrote its headers gets a fresh one, and so does a goroutine after the
// handler returned. With the cookie store, the browser's next request,
// carrying the cookie from before the refresh, gets the refreshed session
// and its cookie without another refresh (RefreshGrace); with a
// server-side store the store has it; under a Locker, the session the
// source refreshed is not taken for the older one its request's cookie
// holds. Neither the browser nor the source
// ever spends a spent refresh token: the provider, which revokes the grant
// when one comes back, keeps the user signed in.
func TestTokenSourceOutlivesTheHandler(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := outboundStack(t, kind.server)
			if kind.locker {
				s.restart(func(c *middleware.Config) { c.Locker = processLocker() })
			}
			sources := make(chan oauth2.TokenSource, 1)
			s.serveAlso(map[string]http.Handler{"/api/long": s.mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ts := s.mw.TokenSource(r)
				first, err := ts.Token()
				if err != nil {
					t.Errorf("first token: %v", err)
					return
				}
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				s.advance(11 * time.Minute)
				second, err := ts.Token()
				if err != nil {
					t.Errorf("token after the headers: %v", err)
					return
				}
				status, err := s.userInfoStatus(s.mw.Client(r))
				ctxTok, _ := middleware.TokenFromContext(r.Context())
				fmt.Fprintf(w, "fresh=%v userinfo=%d err=%v context=%v expiry=%d", second.AccessToken != first.AccessToken,
					status, err, ctxTok != nil && ctxTok.AccessToken == second.AccessToken, second.Expiry.Unix())
				sources <- ts
			}))})
			s.login()
			before := s.refreshGrants()
			got := body(s.get("/api/long"))
			want := "fresh=true userinfo=200 err=<nil> context=true expiry="
			if len(got) < len(want) || got[:len(want)] != want {
				t.Fatalf("handler: %s", got)
			}
			expiry := got[len(want):]
			if n := s.refreshGrants() - before; n != 1 {
				t.Fatalf("the provider saw %d refreshes, want 1", n)
			}

			// The browser's next request gets the refreshed session.
			resp := s.get("/token")
			if b := body(resp); b != expiry {
				t.Errorf("next request's token expires at %s, want the refreshed %s", b, expiry)
			}
			if !kind.server && len(resp.Cookies()) == 0 {
				t.Error("the next request did not get the refreshed cookie")
			}
			if n := s.refreshGrants() - before; n != 1 {
				t.Errorf("the next request refreshed again: %d refreshes", n)
			}

			// A goroutine, after the handler returned.
			ts := <-sources
			s.advance(11 * time.Minute)
			third, err := ts.Token()
			if err != nil {
				t.Fatalf("token after the handler returned: %v", err)
			}
			if strconv.FormatInt(third.Expiry.Unix(), 10) == expiry {
				t.Error("the source handed out the expired token")
			}
			if n := s.refreshGrants() - before; n != 2 {
				t.Errorf("the provider saw %d refreshes, want 2", n)
			}
			if resp := s.get("/profile"); resp.StatusCode != http.StatusOK {
				t.Errorf("the user was signed out after the source refreshed: %d", resp.StatusCode)
			}
			if n := s.refreshGrants() - before; n != 2 {
				t.Errorf("the browser spent a spent refresh token: %d refreshes", n)
			}
			if s.loggedOut() {
				t.Error("the session ended")
			}
		})
	}
}

// TestTokenSourceFailsOnceTheSessionEnds: after the user signs out, a
// source made before fails with ErrSessionEnded, even while its token has
// not expired, and its client sends nothing; a signed-out request's source
// fails with ErrNoSession.
func TestTokenSourceFailsOnceTheSessionEnds(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			s := outboundStack(t, kind.server)
			sources := make(chan oauth2.TokenSource, 1)
			clients := make(chan *http.Client, 1)
			s.serveAlso(map[string]http.Handler{"/api/source": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sources <- s.mw.TokenSource(r)
				clients <- s.mw.Client(r)
			})})
			s.get("/api/source")
			if _, err := (<-sources).Token(); !errors.Is(err, middleware.ErrNoSession) {
				t.Errorf("signed out: %v, want ErrNoSession", err)
			}
			<-clients

			s.login()
			s.get("/api/source")
			ts, client := <-sources, <-clients
			if _, err := ts.Token(); err != nil {
				t.Fatalf("signed in: %v", err)
			}
			if status, err := s.userInfoStatus(client); status != http.StatusOK {
				t.Fatalf("signed in, userinfo: %d %v", status, err)
			}
			if resp := s.postLogout(s.appURL); resp.StatusCode >= 400 {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
			for range 2 {
				if tok, err := ts.Token(); !errors.Is(err, middleware.ErrSessionEnded) || tok != nil {
					t.Errorf("after logout: %v %v, want ErrSessionEnded", tok, err)
				}
			}
			calls := s.count(devprovider.UserInfo)
			if _, err := s.userInfoStatus(client); !errors.Is(err, middleware.ErrSessionEnded) {
				t.Errorf("client after logout: %v, want ErrSessionEnded", err)
			}
			if s.count(devprovider.UserInfo) != calls {
				t.Error("the client called the API after logout")
			}
		})
	}
}
