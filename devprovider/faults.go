package devprovider

import (
	"fmt"
	"net/http"
	"time"
)

// Endpoint names one of the provider's endpoints by its path under the
// issuer.
type Endpoint string

// The provider's endpoints.
const (
	Discovery  Endpoint = "/.well-known/openid-configuration"
	JWKS       Endpoint = "/jwks"
	Authorize  Endpoint = "/authorize"
	Token      Endpoint = "/token"
	UserInfo   Endpoint = "/userinfo"
	EndSession Endpoint = "/end_session"
	Revocation Endpoint = "/revoke"
	// PushedAuthorization is the pushed authorization request endpoint
	// (RFC 9126).
	PushedAuthorization Endpoint = "/par"

	// loginPath receives the login form; it is not a protocol endpoint.
	loginPath Endpoint = "/login"
)

var endpoints = []Endpoint{Discovery, JWKS, Authorize, Token, UserInfo, EndSession, Revocation, PushedAuthorization}

// Fault is a failure injected with [Server.Fail].
type Fault struct {
	// Status, when not zero, is the status of the response, with the status
	// text as a plain text body. Zero serves the request normally, after the
	// Delay.
	Status int
	// Delay is how long the endpoint waits before answering. The wait ends
	// early when the client gives up (the request's context is done), or with
	// 503 Service Unavailable when the Server is closed.
	Delay time.Duration
}

// Fail makes every later request to endpoint fail as f says, until
// [Server.Recover]. It panics on an unknown endpoint.
func (s *Server) Fail(endpoint Endpoint, f Fault) {
	checkEndpoint(endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[endpoint] = f
}

// Recover removes the fault injected at endpoint. It panics on an unknown
// endpoint.
func (s *Server) Recover(endpoint Endpoint) {
	checkEndpoint(endpoint)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, endpoint)
}

func checkEndpoint(e Endpoint) {
	for _, known := range endpoints {
		if e == known {
			return
		}
	}
	panic(fmt.Sprintf("devprovider: unknown endpoint %q", e))
}

// applyFault applies the fault injected at ep, if any, and reports whether
// the request should still be served.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, ep Endpoint) bool {
	s.mu.Lock()
	f, ok := s.faults[ep]
	s.mu.Unlock()
	if !ok {
		return true
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		case <-s.closed:
			http.Error(w, "devprovider: closed", http.StatusServiceUnavailable)
			return false
		}
	}
	if f.Status != 0 {
		http.Error(w, http.StatusText(f.Status), f.Status)
		return false
	}
	return true
}
