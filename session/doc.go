// Package session holds what a logged-in user's session contains and where
// it lives.
//
// [Data] is the typed shape of a session: the provider's tokens, the user's
// claims, the provider's name and session id, and the session's times. A
// [Store] loads and saves Data for a request; the default [CookieStore]
// keeps it in encrypted, authenticated cookies split into chunks, so that
// real ID tokens (4 to 10 KB of session) fit.
package session
