package middleware

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// logRegistration logs, once per provider, the URLs to register at it:
// its redirect URI (for a provider with a login), the post-logout
// redirect URI, and the back-channel and front-channel logout URIs.
func (m *Middleware) logRegistration() {
	base := m.appOrigin + m.cfg.PathPrefix
	for _, p := range m.order {
		attrs := []any{"event", "config", "provider", p.Name}
		if p.HasLogin() {
			attrs = append(attrs, "redirect_uri", base+p.callbackPath)
		}
		attrs = append(attrs, "post_logout_redirect_uri", m.loggedOutURL)
		if p.HasLogin() {
			attrs = append(attrs,
				"backchannel_logout_uri", base+"/backchannel-logout",
				"frontchannel_logout_uri", base+"/frontchannel-logout")
		}
		m.log.Info("URLs to register at the provider", attrs...)
	}
}

// maxHintedHosts bounds the hosts hostHints remembers, and so the hints
// logged: a flood of made-up Host headers takes no more memory.
const maxHintedHosts = 100

// hostHints logs, once per host, a request whose Host is not AppURL's:
// cookies set on one host are not sent to the other, so a login started
// there finds no login flow at the callback on AppURL's host.
type hostHints struct {
	appHost string // lower case, without the scheme's default port
	mu      sync.Mutex
	seen    map[string]struct{}
	full    bool
}

func newHostHints(scheme, host string) *hostHints {
	return &hostHints{appHost: normalHost(scheme, host), seen: map[string]struct{}{}}
}

// normalHost returns host in lower case, without scheme's default port.
func normalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if scheme == "https" {
		return strings.TrimSuffix(host, ":443")
	}
	return strings.TrimSuffix(host, ":80")
}

// checkHost logs a hint for r when its Host differs from AppURL's and was
// not hinted before.
func (m *Middleware) checkHost(r *http.Request) {
	h := m.hostHints
	if r.Host == "" {
		return
	}
	scheme := "http"
	if m.secure {
		scheme = "https"
	}
	host := normalHost(scheme, r.Host)
	if host == h.appHost || !m.log.Enabled(r.Context(), slog.LevelWarn) {
		return
	}
	if len(host) > 256 {
		host = host[:256]
	}
	h.mu.Lock()
	_, seen := h.seen[host]
	hint, last := false, false
	if !seen && !h.full {
		if len(h.seen) < maxHintedHosts {
			h.seen[host], hint = struct{}{}, true
		} else {
			h.full, last = true, true
		}
	}
	h.mu.Unlock()
	switch {
	case hint:
		m.log.WarnContext(r.Context(), "request on another host than AppURL's", "event", "config", "host", host, "app_host", h.appHost,
			"correlation_id", correlationID(r),
			"hint", "cookies set on one host are not sent to the other: a sign-in started here cannot complete at the callback on AppURL's host. Send users to AppURL's host, or set AppURL to the host they use; behind a proxy, pass the original Host on")
	case last:
		m.log.WarnContext(r.Context(), "requests on other hosts than AppURL's are no longer hinted", "event", "config",
			"hinted", maxHintedHosts, "app_host", h.appHost, "correlation_id", correlationID(r))
	}
}
