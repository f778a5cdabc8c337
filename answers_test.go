package endsession_test

// A provider's answers are the provider's to fill: what it sends back to a
// server-to-server call is read within a size limit, and only a summary of
// it (the status, the OAuth error code) reaches a log or a page.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/endsession/endsession/devprovider"
)

// padding makes an answer large; its text must never reach the logs.
var padding = strings.Repeat("PADDING-", 200<<10/8)

// echo is what a hostile or careless provider sends back about the
// request: the user's email and the access token it was given.
func echo(r *http.Request) string {
	return "alice@example.com " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + " " + padding
}

// rawStatus answers with a status line of the provider's own making.
func rawStatus(line string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 " + line + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		buf.Flush()
	}
}

func TestProviderAnswersNeverReachTheLogs(t *testing.T) {
	cases := []struct {
		name     string
		endpoint devprovider.Endpoint
		answer   http.HandlerFunc
		// status is 502 for a provider that failed (5xx), 500 for one
		// that answered what the site cannot use (misconfigured).
		status  int
		summary string // what the log says of the answer
	}{
		{"userinfo error echoing the user and the token", devprovider.UserInfo, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+echo(r)[:200]+`"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token", "error_description": echo(r)})
		}, http.StatusInternalServerError, "userinfo answered 401 invalid_token"},
		{"userinfo error in plain text", devprovider.UserInfo, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, echo(r), http.StatusInternalServerError)
		}, http.StatusBadGateway, "userinfo answered 500"},
		{"userinfo answer of 3 MB", devprovider.UserInfo, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"sub": "alice", "echo": strings.Repeat(echo(r), 15)})
		}, http.StatusInternalServerError, "larger than"},
		{"userinfo answer not JSON", devprovider.UserInfo, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(echo(r)))
		}, http.StatusInternalServerError, "userinfo"},
		{"userinfo status line echoing the user", devprovider.UserInfo, rawStatus("503 alice@example.com " + padding[:1000]), http.StatusBadGateway, "userinfo answered 503"},
		{"token endpoint error echoing the user", devprovider.Token, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": echo(r)})
		}, http.StatusInternalServerError, "token endpoint answered 400 invalid_request"},
		{"discovery status line echoing the user", devprovider.Discovery, rawStatus("503 alice@example.com " + padding[:1000]), http.StatusBadGateway, "discovery answered 503"},
		{"discovery with another issuer", devprovider.Discovery, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"issuer": echo(r), "authorization_endpoint": "http://x/a", "token_endpoint": "http://x/t", "jwks_uri": "http://x/j"})
		}, http.StatusInternalServerError, "issuer"},
		{"keys status line echoing the user", devprovider.JWKS, rawStatus("503 alice@example.com " + padding[:1000]), http.StatusBadGateway, "answered 503"},
		{"keys not JSON Web Keys", devprovider.JWKS, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"keys":[{"kty":"` + echo(r) + `"}]}`))
		}, http.StatusInternalServerError, "keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t)
			s.setAnswer(tc.endpoint, tc.answer)
			resp := s.loginUntilFailure()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, body(resp))
			}
			s.assertNoSession(t, resp)
			s.assertNoLeak(t, body(resp))
			s.assertErrorPage(t, resp)
			logs := s.logs.String()
			for _, leak := range []string{"PADDING", "alice@example.com"} {
				if strings.Contains(logs, leak) || strings.Contains(body(resp), leak) {
					t.Errorf("the provider's answer (%q) reached the logs or the page", leak)
				}
			}
			if len(logs) > 8<<10 {
				t.Errorf("%d bytes of logs for one failed login", len(logs))
			}
			if !strings.Contains(logs, tc.summary) {
				t.Errorf("the logs do not summarise the answer as %q:\n%s", tc.summary, logs)
			}
		})
	}
}
