package endsession_test

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/endsession/endsession/devprovider"
)

// docClientURIs reads the client URIs that devprovider's package doc and
// example register, keyed by field, as paths on the example's app.
func docClientURIs(t *testing.T, file string) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	field := regexp.MustCompile(`(RedirectURIs|PostLogoutRedirectURIs|BackchannelLogoutURI):\s+(?:\[\]string\{)?([^\n]*)`)
	uri := regexp.MustCompile(`"http://127\.0\.0\.1:8080(/[^"]*)"`)
	got := map[string][]string{}
	for _, m := range field.FindAllStringSubmatch(string(src), -1) {
		for _, u := range uri.FindAllStringSubmatch(m[2], -1) {
			got[m[1]] = append(got[m[1]], u[1])
		}
	}
	if len(got) == 0 {
		t.Fatalf("%s registers no client URIs", file)
	}
	return got
}

// A developer who copies devprovider's package doc or example into an app
// gets a login, a sign-out that comes back and a back-channel logout that
// arrives: the URIs they register are the middleware's own routes.
func TestDevproviderDocsRegisterTheMiddlewareRoutes(t *testing.T) {
	for _, file := range []string{"devprovider/doc.go", "devprovider/example_test.go"} {
		t.Run(file, func(t *testing.T) {
			paths := docClientURIs(t, file)
			s := newStack(t, withOP(func(c *devprovider.Config) {
				cl := &c.Clients[0]
				appURL := strings.TrimSuffix(cl.RedirectURIs[0], "/auth/callback")
				abs := func(paths []string) (out []string) {
					for _, p := range paths {
						out = append(out, appURL+p)
					}
					return out
				}
				cl.RedirectURIs = abs(paths["RedirectURIs"])
				cl.PostLogoutRedirectURIs = abs(paths["PostLogoutRedirectURIs"])
				if b := paths["BackchannelLogoutURI"]; len(b) == 1 {
					cl.BackchannelLogoutURI = appURL + b[0]
				}
			}))
			s.login()
			resp, visited := s.follow(s.postLogout(s.appURL))
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body(resp), "home") {
				t.Fatalf("sign-out with the documented URIs: %d %q (visited %v)", resp.StatusCode, body(resp), visited)
			}
			if _, ok := paths["BackchannelLogoutURI"]; !ok {
				return
			}
			s.login()
			if err := s.op.LogoutUser("alice"); err != nil {
				t.Fatalf("back-channel logout to the documented URI: %v", err)
			}
			if !s.loggedOut() {
				t.Fatal("the session survived a back-channel logout to the documented URI")
			}
		})
	}
}
