// Package devprovider is an OpenID provider that runs in the process, for
// development and tests: a user signs in and out of an app on loopback
// without any network, and tests assert exactly what the app sent and
// received.
//
// It implements the parts of the specifications a relying party meets:
//   - discovery and a JWKS with RS256 keys (OpenID Connect Discovery 1.0);
//   - the authorization code flow with PKCE S256 (OpenID Connect Core 1.0,
//     RFC 7636), a login page and a provider session cookie, prompt=none,
//     and the iss authorization response parameter (RFC 9207);
//   - the token endpoint with client_secret_basic, client_secret_post,
//     private_key_jwt (RFC 7523: RS256 and ES256 assertions, each jti good
//     once) and public clients, single-use codes and rotating refresh
//     tokens;
//   - pushed authorization requests (RFC 9126), optionally required;
//   - userinfo, and token revocation (RFC 7009), whose client
//     authentication methods may differ from the token endpoint's;
//   - RP-Initiated Logout 1.0 over GET and POST, Back-Channel Logout 1.0 and
//     Front-Channel Logout 1.0.
//
// # Running it
//
// [Start] listens on a loopback port and serves until [Server.Close]:
//
//	op, err := devprovider.Start(devprovider.Config{
//		Clients: []devprovider.Client{{
//			ID:                     "app",
//			Secret:                 "app-secret",
//			RedirectURIs:           []string{"http://127.0.0.1:8080/auth/callback"},
//			PostLogoutRedirectURIs: []string{"http://127.0.0.1:8080/auth/logged-out"},
//			BackchannelLogoutURI:   "http://127.0.0.1:8080/auth/backchannel-logout",
//		}},
//	})
//	if err != nil {
//		// ...
//	}
//	defer op.Close()
//	// op.Issuer() is the issuer URL to give the app.
//
// These are the URIs endsession's middleware serves with the default
// PathPrefix "/auth" and one provider (with several, the callback is
// /auth/callback/NAME): the callback, the post-logout landing and the
// back-channel logout endpoint. A post_logout_redirect_uri that is not
// registered here ends every logout on the provider's error page.
//
// A [Server] is also a [net/http.Handler], to mount with
// [net/http/httptest.NewServer] after [New]; then call [Server.SetIssuer]
// with the test server's URL before the first request.
//
// # Signing in from a script
//
// The login page is a plain HTML form, so a test can sign in without a
// browser: follow the authorize redirect to the login page, then POST to
// the page's form action (ISSUER/login) the form's hidden
// fields together with username and password, form-encoded. A right
// password answers 303 to the client's redirect URI with code and state; a
// wrong one answers 401 with the form again. The browser's cookie jar must
// keep the provider's session cookie for prompt=none and logout to see the
// session. With [Config.AutoLogin] the authorize request signs the named
// user in at once, with no page. Every user's password is its username
// unless [User.Password] says otherwise.
//
// # Behaviour worth knowing
//
// The sid claim names the provider session: every ID token issued in one
// browser session carries the same sid, refreshed ones included. Ending the
// session, at the end_session endpoint or with [Server.LogoutUser],
// revokes the tokens granted in it unless their scope has offline_access,
// and notifies the clients that got a code in it; end_session notifies every
// client except the one that asked to log out. The end_session endpoint never
// asks the user to confirm, accepts an expired id_token_hint, and answers
// with an error page, never a redirect, when post_logout_redirect_uri is not
// registered. A code or a rotated refresh token used a second time fails and
// revokes every token issued from that code.
//
// Codes live 60 seconds; sessions, tokens and codes are forgotten once
// expired, and the request log keeps the last 1000 requests, so memory stays
// bounded in a long-running example.
//
// # Helpers for tests
//
// [Server.Requests] records what relying parties sent. [Server.SignIDToken],
// [Server.IDTokenClaims], [Server.Forge] and [Server.LogoutToken] mint valid
// and invalid tokens; [Server.RotateKey] rotates the signing key;
// [Server.SetUserClaims] changes what tokens say (to make an ID token too big
// for a cookie, say); [Server.Fail] injects errors and delays per endpoint.
// Like go-oidc's oidctest, helpers that can only fail through a programming
// error (an unknown client or user, say) panic rather than return an error.
//
// The provider is for development only: its users, passwords and keys live
// in memory, and [Start] refuses any address but loopback.
package devprovider
