package e2e_test

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"

	"github.com/endsession/endsession/e2e/internal/browser"
	"github.com/endsession/endsession/e2e/internal/op"
	"github.com/endsession/endsession/e2e/internal/peers"
	endsession "github.com/endsession/endsession/middleware"
)

// TestRouters mounts the middleware on chi and on gorilla/mux as the
// README shows, and signs in and out through each in Chromium against the
// real provider: the login, the callback, the sign-out button and the
// post-logout landing all reach the middleware through the router.
func TestRouters(t *testing.T) {
	for _, r := range []struct {
		name  string
		mount func(mw *endsession.Middleware, appRoutes http.Handler) http.Handler
	}{
		{"chi", func(mw *endsession.Middleware, appRoutes http.Handler) http.Handler {
			// chi runs r.Use before routing: the middleware sees /auth/* too.
			r := chi.NewRouter()
			r.Use(mw.Handler)
			r.Handle("/*", appRoutes)
			return r
		}},
		{"gorilla/mux", func(mw *endsession.Middleware, appRoutes http.Handler) http.Handler {
			// gorilla/mux runs middleware only on routes that matched: the
			// PathPrefix route makes /auth/* match.
			r := mux.NewRouter()
			r.Use(mw.Handler)
			r.PathPrefix("/auth/").Handler(mw.Routes())
			r.Handle("/", appRoutes)
			r.Handle("/profile", appRoutes)
			return r
		}},
	} {
		t.Run(r.name, func(t *testing.T) {
			o := op.Shared(t)
			b := browser.New(t)
			a := startAppMounted(t, o, peers.AppAddr(t), r.mount)
			d := login(t, b, a, "router-user")
			res := logoutWithButton(t, b, a, o, d.IDToken)
			if res.Erased.Subject != "router-user" || res.Erased.ID != d.ID {
				t.Errorf("OnLogout got session %q of %q, want %q of router-user", res.Erased.ID, res.Erased.Subject, d.ID)
			}
			requireLoginForm(t, b, a, o)
		})
	}
}
