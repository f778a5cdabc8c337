// Package session holds what a logged-in user's session contains and where
// it lives.
//
// [Data] is the typed shape of a session: the provider's tokens, the user's
// claims, the provider's name and session id, and the session's times. A
// [Store] loads and saves Data for a request. Every store refuses a
// session past [Data.Expires] itself, whatever its cookies or records
// say, and ends sessions for back-channel logout ([Store.EndMatching]).
//
//   - [CookieStore], the default, keeps the session in encrypted,
//     authenticated cookies split into chunks, so that real ID tokens (4
//     to 10 KB of session) fit. Nothing runs on the server but a
//     [Revocations] list, bounded ([RevocationLimits]), that remembers
//     the sessions logged out (so that a copied cookie is worth nothing
//     afterwards) and those ended by the provider. Values
//     already verified are remembered too, in a bounded cache, so that a
//     browser's next requests with the same cookie skip the decryption.
//   - [ServerStore] keeps the session in a [Backend] and only a signed
//     random identifier in the cookie. [MemoryBackend] serves one process;
//     the redisstore module serves replicas that share a Redis. Logout
//     deletes the record, so a copied cookie is worth nothing afterwards.
//   - [GorillaStore] plugs in any gorilla/sessions store, such as a
//     FilesystemStore or a third-party one.
//
// The storetest package checks a Store against the contract the
// middleware relies on.
package session
