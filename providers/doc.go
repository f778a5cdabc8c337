// Package providers describes OpenID Connect and OAuth 2.0 providers: their
// endpoints (through discovery or given explicitly), scopes, extra
// parameters, client authentication, and how each one ends a user's session
// (its logout strategy).
//
// Presets build a provider in a few lines: [OIDC] for any standard OpenID
// provider, [FranceTravail] (with [FranceTravailPartenaire] for the
// application's own API calls), [Decathlon], [Auth0], [Keycloak],
// [Entra], [Okta], [Google], [Cognito], [Zitadel], [Authentik], [Hydra],
// [Dex], [PingOne], and [AdobePass] for a clientless device flow whose
// logout is a server-to-server call. Each preset documents the requests
// it makes, and which of its values the provider does not document and
// are inferred: those are all overridable.
// Presets make no network call; discovery, when used, happens at the first
// login.
//
// It knows nothing of sessions or HTTP routing; the middleware package puts
// providers to work.
package providers
