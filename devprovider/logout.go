package devprovider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// handleEndSession implements OpenID Connect RP-Initiated Logout 1.0. It
// never asks the user to confirm.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request, issuer string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		methodNotAllowed(w, "GET, POST")
		return
	}
	r.ParseForm()
	form := r.Form

	var hint map[string]any
	if raw := form.Get("id_token_hint"); raw != "" {
		// An expired ID token is fine (§2): only signature and issuer count.
		claims, err := s.verifyOwnToken(raw, issuer)
		if err != nil {
			s.log.Info("devprovider: end_session: bad id_token_hint", "err", err)
			s.renderError(w, http.StatusBadRequest, "The id_token_hint was not issued by this provider.")
			return
		}
		hint = claims
	}
	var client *Client
	if id := form.Get("client_id"); id != "" {
		s.mu.Lock()
		client = s.clients[id]
		s.mu.Unlock()
		if client == nil {
			s.renderError(w, http.StatusBadRequest, "Unknown client_id.")
			return
		}
		if hint != nil && !slices.Contains(audienceOf(hint), id) {
			s.renderError(w, http.StatusBadRequest, "The client_id does not match the audience of the id_token_hint.")
			return
		}
	} else if hint != nil {
		id, _ := hint["azp"].(string)
		if aud := audienceOf(hint); id == "" && len(aud) == 1 {
			id = aud[0]
		}
		s.mu.Lock()
		client = s.clients[id]
		s.mu.Unlock()
	}
	next := form.Get("post_logout_redirect_uri")
	if next != "" {
		if client == nil {
			s.renderError(w, http.StatusBadRequest, "A post_logout_redirect_uri needs an id_token_hint or a client_id.")
			return
		}
		if !slices.Contains(client.PostLogoutRedirectURIs, next) {
			s.renderError(w, http.StatusBadRequest, "The post_logout_redirect_uri is not registered for this client.")
			return
		}
		if state := form.Get("state"); state != "" {
			next = withParams(next, url.Values{"state": {state}})
		}
	}

	// The browser's session ends; without one, the session the hint names.
	var ended []*opSession
	if sess := s.sessionFromCookie(r); sess != nil {
		ended = append(ended, sess)
	} else if sid, _ := hint["sid"].(string); sid != "" {
		s.mu.Lock()
		for _, sess := range s.sessions {
			if sess.sid == sid {
				ended = append(ended, sess)
			}
		}
		s.mu.Unlock()
	}
	initiator := ""
	if client != nil {
		initiator = client.ID
	}
	// The back-channel goes on if the browser leaves: the session is over.
	frames, _ := s.endSessions(context.WithoutCancel(r.Context()), ended, initiator)
	if _, err := r.Cookie(s.SessionCookieName()); err == nil {
		http.SetCookie(w, s.sessionCookie("", -1))
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case len(frames) > 0:
		s.renderPage(w, http.StatusOK, "signedout", pageData{Title: "Signing you out", Frames: frames, Next: next})
	case next != "":
		http.Redirect(w, r, next, http.StatusFound)
	default:
		s.renderPage(w, http.StatusOK, "signedout", pageData{Title: "You are signed out"})
	}
}

// LogoutUser ends every provider session of the user named username, as
// if the user signed out elsewhere or an administrator ended the sessions,
// and sends a back-channel logout token to each client that got a code in
// one of them and has a BackchannelLogoutURI. It returns an error for an
// unknown user, or naming each receiver that failed or did not answer
// 200 OK or 204 No Content. A user with no session is not an error.
func (s *Server) LogoutUser(username string) error {
	s.mu.Lock()
	if s.users[username] == nil {
		s.mu.Unlock()
		return fmt.Errorf("devprovider: unknown user %q", username)
	}
	var sessions []*opSession
	for _, sess := range s.sessions {
		if sess.username == username {
			sessions = append(sessions, sess)
		}
	}
	s.mu.Unlock()
	_, err := s.endSessions(context.Background(), sessions, "")
	return err
}

// backchannelTarget is one back-channel logout to deliver.
type backchannelTarget struct {
	client       *Client
	subject, sid string
}

// endSessions ends sessions: it forgets them, revokes the grants made in
// them without offline_access, and notifies their clients other than
// initiator by back-channel. It returns the front-channel logout URLs of
// those clients, and the back-channel delivery errors.
func (s *Server) endSessions(ctx context.Context, sessions []*opSession, initiator string) ([]string, error) {
	issuer := s.Issuer()
	var targets []backchannelTarget
	var frames, ended []string
	s.mu.Lock()
	for _, sess := range sessions {
		if s.sessions[sess.key] != sess {
			continue // already ended
		}
		delete(s.sessions, sess.key)
		for id, g := range s.grants {
			if g.sid == sess.sid && !g.offline {
				s.revokeGrant(id)
			}
		}
		subject := s.users[sess.username].subject
		ended = append(ended, sess.username+" ("+strings.Join(sess.clients, " ")+")")
		for _, id := range sess.clients {
			c := s.clients[id]
			if id == initiator || c == nil {
				continue
			}
			if c.BackchannelLogoutURI != "" {
				targets = append(targets, backchannelTarget{client: c, subject: subject, sid: sess.sid})
			}
			if c.FrontchannelLogoutURI != "" {
				frames = append(frames, withParams(c.FrontchannelLogoutURI, url.Values{"iss": {issuer}, "sid": {sess.sid}}))
			}
		}
	}
	s.mu.Unlock()
	for _, e := range ended {
		s.log.Info("devprovider: session ended", "session", e)
	}
	return frames, s.sendBackchannel(ctx, issuer, targets)
}

// sendBackchannel posts a logout token to every target at once and waits
// for all of them.
func (s *Server) sendBackchannel(ctx context.Context, issuer string, targets []backchannelTarget) error {
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			errs[i] = s.postLogoutToken(ctx, issuer, t)
			if errs[i] != nil {
				s.log.Warn("devprovider: back-channel logout failed", "client", t.client.ID, "err", errs[i])
			} else {
				s.log.Info("devprovider: back-channel logout delivered", "client", t.client.ID)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) postLogoutToken(ctx context.Context, issuer string, t backchannelTarget) error {
	token := s.signJWT(s.logoutTokenClaims(issuer, t.client, t.subject, t.sid), "logout+jwt")
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.client.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("devprovider: back-channel logout to client %q: %w", t.client.ID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("devprovider: back-channel logout to client %q: %w", t.client.ID, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("devprovider: back-channel logout to client %q: status %d", t.client.ID, resp.StatusCode)
	}
	return nil
}
