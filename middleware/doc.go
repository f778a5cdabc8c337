// Package middleware wraps a net/http application with OpenID Connect login
// and, above all, a correct logout: local data first, then the provider.
package middleware
