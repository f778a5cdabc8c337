package redisstore_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// A back-channel logout delivered to one replica ends the session on the
// other, through the Redis store's index; the same token replayed to the
// other replica is refused by the shared replay cache.
func TestBackchannelLogoutAcrossReplicas(t *testing.T) {
	eachRedis(t, func(t *testing.T, c redis.UniversalClient) {
		op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{
			ID: "app", Secret: "app-secret", RedirectURIs: []string{appURL + "/auth/callback"},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		defer op.Close()
		opts := redisstore.Options{Prefix: prefix()}
		replay, err := redisstore.NewReplayCache(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		var apps [2]http.Handler
		for i := range apps {
			store, err := session.NewServerStore(session.ServerOptions{Backend: newBackend(t, c, opts), Keys: testKeys()})
			if err != nil {
				t.Fatal(err)
			}
			m, err := middleware.New(middleware.Config{
				AppURL: appURL,
				Providers: []providers.Provider{{
					Name: "dev", Issuer: op.Issuer(), ClientID: "app", ClientSecret: "app-secret",
				}},
				Keys: testKeys(), Store: store, ReplayCache: replay,
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
				// The session a login at op would create, made directly.
				d := session.Data{Provider: "dev", Subject: "alice", SID: "op-session-1"}
				if err := m.StartSession(w, r, d); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
				}
			})
			mux.Handle("/me", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				d, _ := middleware.SessionFromContext(r.Context())
				w.Write([]byte(d.Subject))
			})))
			apps[i] = m.Handler(mux)
		}
		b := storetest.NewBrowser()
		serve := func(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
			for _, ck := range b.Cookies() {
				r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			b.Apply(rec)
			return rec
		}
		me := func(h http.Handler) int {
			r := httptest.NewRequest(http.MethodGet, appURL+"/me", nil)
			r.Header.Set("Accept", "application/json")
			return serve(h, r).Code
		}
		// Sessions started in the same second as a logout count as ended by
		// it; start one a second before.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		serve(apps[0], httptest.NewRequest(http.MethodGet, appURL+"/start", nil))
		if code := me(apps[1]); code != http.StatusOK {
			t.Fatalf("replica 2 before logout: %d", code)
		}
		time.Sleep(time.Second)

		token := op.LogoutToken("app", "alice", "op-session-1", nil)
		post := func(h http.Handler) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, appURL+"/auth/backchannel-logout",
				strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			return rec
		}
		if rec := post(apps[1]); rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("back-channel logout at replica 2: %d %q", rec.Code, rec.Body)
		}
		if code := me(apps[0]); code != http.StatusUnauthorized {
			t.Fatalf("replica 1 after a back-channel logout at replica 2: %d, want 401", code)
		}
		if rec := post(apps[0]); rec.Code != http.StatusBadRequest {
			t.Fatalf("the same logout token replayed at replica 1: %d, want 400", rec.Code)
		}
		if n := keys(t, c, opts.Prefix+"s:"); len(n) != 0 {
			t.Fatalf("session records left in Redis: %v", n)
		}
	})
}
