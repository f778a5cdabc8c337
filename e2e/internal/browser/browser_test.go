package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/endsession/endsession/e2e/internal/browser"
)

// TestClickSetsCookie proves the harness on a local page: a form is filled
// and submitted by a click, the server sets an HttpOnly cookie and
// redirects, and the test reads the cookie and the recorded requests back.
func TestClickSetsCookie(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><html><body>
<form method="post" action="/set"><input id="name" name="name"><button id="set" type="submit">Set</button></form>
</body></html>`)
	})
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "smoke", Value: r.FormValue("name"), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/done?from=set", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p id="msg">done</p></body></html>`)
	})
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)

	b := browser.New(t)
	b.Navigate(srv.URL + "/")
	b.Fill("#name", "ada")
	b.Click("#set")
	u := b.WaitURL("/done", func(u *url.URL) bool { return u.Path == "/done" })
	if u.Query().Get("from") != "set" || b.Text("#msg") != "done" {
		t.Fatalf("landed on %s with %q", u, b.Text("#msg"))
	}

	c, ok := b.Cookie(srv.URL, "smoke")
	if !ok || c.Value != "ada" || !c.HTTPOnly {
		t.Fatalf("cookie smoke: %+v, %v", c, ok)
	}

	var post *browser.Request
	for _, r := range b.Navigations() {
		if r.Method == http.MethodPost && r.HasPrefix(srv.URL+"/set") {
			post = &r
		}
	}
	if post == nil {
		t.Fatalf("no POST /set among the navigations:\n%s", strings.Join(b.NavigationURLs(), "\n"))
	}
	if post.Status != http.StatusSeeOther || post.Location != "/done?from=set" || post.Form().Get("name") != "ada" {
		t.Fatalf("POST /set recorded as %s", post)
	}
	if got := b.NavigationURLs(); got[len(got)-1] != "GET "+srv.URL+"/done?from=set" {
		t.Fatalf("last navigation %q", got[len(got)-1])
	}

	// A second tab shares the cookies, an isolated context does not.
	if _, ok := b.NewTab().Cookie(srv.URL, "smoke"); !ok {
		t.Error("a new tab does not see the cookie")
	}
	if _, ok := b.NewIsolated().Cookie(srv.URL, "smoke"); ok {
		t.Error("an isolated context sees the cookie")
	}

	b.DeleteCookie(srv.URL, "smoke")
	if _, ok := b.Cookie(srv.URL, "smoke"); ok {
		t.Error("DeleteCookie left the cookie")
	}
}
