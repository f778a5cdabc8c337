package endsession_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/endsession/endsession/devprovider"
	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/session"
)

// TestServerSideStores runs a real login and logout with the stores that
// keep sessions on the server: the record exists after login, is gone
// after logout, and the session's cookie, replayed, opens nothing.
func TestServerSideStores(t *testing.T) {
	cases := []struct {
		name string
		// store returns the store and a count of the records it keeps.
		store func(t *testing.T) (session.Store, func() int)
	}{
		{"ServerStore+MemoryBackend", func(t *testing.T) (session.Store, func() int) {
			backend := session.NewMemoryBackend(session.MemoryOptions{})
			t.Cleanup(func() { backend.Close() })
			s, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: testKeys, Name: "endsession"})
			if err != nil {
				t.Fatal(err)
			}
			return s, backend.Len
		}},
		{"GorillaStore+FilesystemStore", func(t *testing.T) (session.Store, func() int) {
			dir := t.TempDir()
			s, err := session.NewGorillaStore(session.GorillaOptions{
				Store: sessions.NewFilesystemStore(dir, testKeys[0].HashKey, testKeys[0].BlockKey),
			})
			if err != nil {
				t.Fatal(err)
			}
			return s, func() int {
				files, _ := filepath.Glob(filepath.Join(dir, "session_*"))
				return len(files)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store, records := c.store(t)
			s := newStack(t, func(_ *devprovider.Config, mw *middleware.Config) {
				if mw != nil {
					mw.Store = store
				}
			})
			s.login()
			if n := records(); n != 1 {
				t.Fatalf("%d records after login, want 1", n)
			}
			replay := s.sessionCookies()
			end := s.logoutRedirect()
			if n := records(); n != 0 {
				t.Errorf("%d records after logout, want 0", n)
			}
			if resp, _ := s.follow(s.get(end.String())); resp.StatusCode != http.StatusOK {
				t.Errorf("after logout: %d", resp.StatusCode)
			}
			req, _ := http.NewRequest(http.MethodGet, s.appURL+"/profile", nil)
			for _, ck := range replay {
				req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("the logged-out session's cookie, replayed: %d, want a redirect to login", resp.StatusCode)
			}
		})
	}
}

// A gorilla FilesystemStore keeps 4096 bytes per session by default,
// less than a session with a large ID token: the login ends on a page
// that says so, and the log says what to change.
func TestGorillaFilesystemStoreTooSmallForTheSession(t *testing.T) {
	for _, maxLength := range []int{0, 64 << 10} {
		fs := sessions.NewFilesystemStore(t.TempDir(), testKeys[0].HashKey, testKeys[0].BlockKey)
		if maxLength > 0 {
			fs.MaxLength(maxLength)
		}
		store, err := session.NewGorillaStore(session.GorillaOptions{Store: fs})
		if err != nil {
			t.Fatal(err)
		}
		s := newStack(t, withMW(func(c *middleware.Config) { c.Store = store }))
		s.op.SetUserClaims("alice", map[string]any{"email": "alice@example.com", "profile_blob": strings.Repeat("x", 6<<10)})
		resp, _ := s.follow(s.get("/profile"))
		b := body(resp)
		if maxLength > 0 {
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("with MaxLength %d: %d %q", maxLength, resp.StatusCode, b)
			}
			continue
		}
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(b, "too large for this site") || strings.Contains(b, "cookies") {
			t.Fatalf("with the default MaxLength: %d %q", resp.StatusCode, b)
		}
		if !strings.Contains(s.logs.String(), "MaxLength") {
			t.Fatalf("the log does not say what to change:\n%s", s.logs)
		}
	}
}
