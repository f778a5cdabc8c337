package devprovider

import (
	"net/http"
	"net/url"
	"time"
)

// requestURITTL is the lifetime of a pushed request's request_uri.
const requestURITTL = 60 * time.Second

// requestURIPrefix starts every request_uri (RFC 9126 §2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// pushedRequest is an authorization request pushed to the PAR endpoint,
// good for one authorization request of its client.
type pushedRequest struct {
	clientID string
	form     url.Values
	expires  time.Time
}

// handlePushedAuthorization implements RFC 9126: the client, authenticated
// as at the token endpoint, posts its authorization request and gets a
// request_uri for it.
func (s *Server) handlePushedAuthorization(w http.ResponseWriter, r *http.Request, issuer string) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	c := s.authenticateClient(w, r, issuer, PushedAuthorization)
	if c == nil {
		return
	}
	form := cloneValues(r.PostForm)
	for _, k := range []string{"client_secret", "client_assertion", "client_assertion_type"} {
		form.Del(k)
	}
	switch {
	case form.Has("request_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_request", "request_uri cannot be pushed")
		return
	case form.Get("client_id") != c.ID:
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_id must be the authenticated client")
		return
	}
	if _, aerr := s.parseAuthRequest(form); aerr != nil {
		oauthError(w, http.StatusBadRequest, aerr.code, aerr.description)
		return
	}
	uri := requestURIPrefix + randomString(24)
	now := s.now()
	s.mu.Lock()
	s.sweep(now)
	s.pushed[uri] = &pushedRequest{clientID: c.ID, form: form, expires: now.Add(requestURITTL)}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": uri, "expires_in": int(requestURITTL / time.Second)})
}

// authorizationForm returns the parameters of an authorization request:
// those pushed earlier when the request carries a request_uri (which is
// then spent), the request's own otherwise, unless pushed requests are
// required. A failure is shown on a page, never sent to a redirect_uri.
func (s *Server) authorizationForm(form url.Values) (url.Values, *authError) {
	uri := form.Get("request_uri")
	if uri == "" {
		if s.cfg.RequirePushedAuthorization {
			return nil, &authError{code: "invalid_request", description: "This provider takes only pushed authorization requests (request_uri)."}
		}
		return form, nil
	}
	now := s.now()
	s.mu.Lock()
	p := s.pushed[uri]
	delete(s.pushed, uri)
	s.mu.Unlock()
	if p == nil || !now.Before(p.expires) || p.clientID != form.Get("client_id") {
		return nil, &authError{code: "invalid_request_uri", description: "The request_uri is unknown, expired, already used or another client's."}
	}
	return p.form, nil
}
