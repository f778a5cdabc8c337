// Package providers describes OpenID Connect and OAuth 2.0 providers: their
// endpoints (through discovery or given explicitly), scopes, extra
// parameters, client authentication, and how each one ends a user's session
// (its logout strategy).
//
// It knows nothing of sessions or HTTP routing; the middleware package puts
// providers to work.
package providers
