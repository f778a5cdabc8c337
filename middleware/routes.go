package middleware

import "net/http"

// Routes returns a handler of the middleware's own routes alone (login,
// callback, logout, landing, back-channel and front-channel logout, and
// session info when configured, under PathPrefix), answering 404 for any other path, for routers that must be
// told which paths the middleware serves. The application's requests still
// need [Middleware.Handler] for their session.
//
// With net/http's ServeMux, wrap the whole mux in Handler: nothing else is
// needed. With chi, r.Use(mw.Handler) runs before routing and serves the
// routes too. gorilla/mux runs its middleware only on routes that matched,
// so /auth/login would be a 404: add a route for the prefix,
//
//	r.Use(mw.Handler)
//	r.PathPrefix("/auth/").Handler(mw.Routes())
func (m *Middleware) Routes() http.Handler {
	return m.Handler(http.NotFoundHandler())
}
