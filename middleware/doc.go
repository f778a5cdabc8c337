// Package middleware wraps a net/http application with OpenID Connect login
// and, above all, a correct logout: local data first, then the provider.
//
// [New] takes one [Config], checks all of it once, and returns the
// [Middleware]. [Middleware.Handler] wraps the application: it serves the
// middleware's own routes under [Config.PathPrefix] (default "/auth") and
// gives every other request its session, read by [SessionFromContext] and
// [TokenFromContext]. Protect a route with [Middleware.Require], demand a
// claim with [Middleware.Allow], a recent or stronger sign-in with
// [Middleware.RequireAuthentication], or try a silent sign-in with
// [Middleware.TrySilentLogin].
//
// # Routes
//
// Under PathPrefix: login ([Middleware.LoginHandler]), the callback
// ([Middleware.CallbackHandler]), logout ([Middleware.LogoutHandler]),
// the post-logout landing ([Middleware.LoggedOutHandler]), and the
// provider's back-channel and front-channel logout
// ([Middleware.BackchannelLogoutHandler],
// [Middleware.FrontchannelLogoutHandler]). Each handler's doc says what
// it answers to bad input and what to register at the provider; [New]
// logs the URLs to register, once per provider.
//
// # Logout
//
// Every end of a session, whoever ends it, deletes the session and its
// cookies first, runs [Config.OnLogout] with a [LogoutEvent] so that the
// application erases its copies of the user's data, and emits one
// [LogoutReport]. The user's logout then revokes the tokens and ends the
// session at the provider as its [providers.Logout] strategy says.
//
// # Errors
//
// Every error the middleware answers itself goes through one sink,
// [Config.ErrorHandler], as an [*Error] with a plain message and a
// correlation id, already logged; never a token or a provider's text.
// [Config.Pages] replaces the pages it renders.
//
// # Logs, metrics and traces
//
// Every record of a request is logged to [Config.Logger] with the
// request's context, so that a handler that adds trace and span ids
// finds them, and with its correlation id: the request's X-Request-Id
// when valid, else its traceparent's trace id, else a random id (see
// [Config.Logger]). [Config.Observer] is told of each login, logout,
// refresh, back-channel and front-channel logout and rejected request,
// and of every call to a provider; the nested module
// github.com/endsession/endsession/otelendsession records them as
// OpenTelemetry metrics and spans.
//
// # Package names
//
// The package is named middleware, as chi's is. In a file that imports
// both, import this one as endsession, as the examples for routers do:
//
//	import endsession "github.com/endsession/endsession/middleware"
//
// In a file where a variable named session is a habit (gorilla/sessions'
// session, _ := store.Get(r, name)), import the session package as
// essession, or name the variable otherwise.
package middleware
