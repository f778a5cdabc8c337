// Package otelendsession reports what the endsession middleware does as
// OpenTelemetry metrics and spans: give [New]'s Observer to
// middleware.Config.Observer.
//
// It is a module of its own, so that the core module, and applications
// that do not use OpenTelemetry, do not depend on it.
//
// # Metrics
//
// Counters, each with the attributes listed (an attribute whose value is
// not known, such as the provider of a login whose flow was not found, is
// left out):
//
//   - endsession.logins: endsession.provider, endsession.outcome ("ok",
//     "failed", "anonymous"), endsession.code (why it failed)
//   - endsession.logouts: every end of a session, whoever ends it:
//     endsession.provider, endsession.reason ("user", "backchannel",
//     "frontchannel", "refresh_refused", "expired", "replaced"),
//     endsession.outcome ("ok", or "failed" when a step failed)
//   - endsession.logout.steps: each step of those logouts:
//     endsession.provider, endsession.step (such as "session.delete",
//     "provider.revoke", "provider.end_session"), endsession.outcome
//     ("ok", "failed")
//   - endsession.refreshes: endsession.provider, endsession.outcome ("ok",
//     "failed", "ended"), endsession.code (the step that failed, or
//     "invalid_grant")
//   - endsession.backchannel_logouts, endsession.frontchannel_logouts:
//     endsession.provider, endsession.outcome ("ok", "rejected",
//     "failed"), endsession.code
//   - endsession.rejected: requests answered with an error or refused:
//     endsession.route (such as "callback", "logout",
//     "backchannel_logout"), endsession.code (such as "invalid_state"),
//     http.response.status_code
//
// and a histogram, endsession.provider.call.duration (seconds), of every
// HTTP call to a provider: endsession.provider, endsession.endpoint
// ("discovery", "keys", "pushed_authorization", "token", "userinfo",
// "revocation", "end_session"), http.request.method, http.response.status_code, and
// error.type when the call failed.
//
// Every value is a name or a code, never a user's: the metrics stay of
// bounded cardinality. Through the OpenTelemetry Prometheus exporter the
// names become endsession_logins_total,
// endsession_provider_call_duration_seconds and so on, with the dots of
// the attribute names as underscores.
//
// # Spans
//
// Every call to a provider is a client span, "endsession.provider.ENDPOINT"
// (such as endsession.provider.token), a child of the request's span when
// there is one (as an otelhttp handler around the application starts),
// with the attributes of the histogram, server.address and url.full
// without its query; the propagator's headers (traceparent) go with the
// call. A call that failed or was answered with 4xx or 5xx ends in error.
// Each event (a login, a logout, a rejection) is also added to the
// request's span, when it is recording, as a span event of the same name
// as its counter.
package otelendsession
