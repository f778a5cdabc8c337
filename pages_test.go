package endsession_test

import (
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/endsession/endsession/middleware"
)

var heading = regexp.MustCompile(`<h1>([^<]*)</h1>`)

// TestPagesSpeakToPeople: the middleware's error pages are headed by a
// sentence for the person who reads them, never by an HTTP status text,
// and every page that answers a request carries its correlation id.
func TestPagesSpeakToPeople(t *testing.T) {
	s := newStack(t)
	for _, c := range []struct {
		name, method, path string
		header             []string
		status             int
	}{
		{"unknown state", http.MethodGet, "/auth/callback?state=forged&code=x", nil, http.StatusBadRequest},
		{"cross-site logout", http.MethodPost, "/auth/logout", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"front-channel without sid", http.MethodGet, "/auth/frontchannel-logout", nil, http.StatusBadRequest},
		{"front-channel, unknown issuer", http.MethodGet, "/auth/frontchannel-logout?iss=https%3A%2F%2Fevil.example&sid=s", nil, http.StatusBadRequest},
		{"login, wrong method", http.MethodDelete, "/auth/login", nil, http.StatusMethodNotAllowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, s.abs(c.path), nil)
			for i := 0; i+1 < len(c.header); i += 2 {
				req.Header.Set(c.header[i], c.header[i+1])
			}
			req.Header.Set("X-Request-Id", "page-ref-42")
			resp := s.do(req)
			page := body(resp)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, page)
			}
			if m := heading.FindStringSubmatch(page); m != nil && m[1] == http.StatusText(c.status) {
				t.Errorf("the page is headed %q, an HTTP status text", m[1])
			}
			if strings.Contains(page, "<title>"+http.StatusText(c.status)+"</title>") {
				t.Errorf("the page's title is the HTTP status text %q", http.StatusText(c.status))
			}
			if !strings.Contains(page, "page-ref-42") {
				t.Errorf("the page does not show the correlation id: %s", page)
			}
		})
	}
}

// TestPagesCanBeReplaced: an application gives its own templates for the
// pages the middleware renders; they get the documented data, and the
// middleware's headers (CSP, no framing, no caching) stay.
func TestPagesCanBeReplaced(t *testing.T) {
	pages := template.Must(template.New("").Parse(`
{{define "confirm-logout"}}<main class="app">Leave?<form method="post" action="{{.Action}}">` +
		`<input type="hidden" name="{{.FormActionField}}" value="self"><button id="app-confirm">Yes</button></form></main>{{end}}
{{define "error"}}<main class="app"><h1>{{.Title}}</h1><p>{{.Error.Message}}</p><p>ref {{.Error.CorrelationID}}</p></main>{{end}}
`))
	s := newStack(t, withMW(func(c *middleware.Config) { c.Pages = pages }))
	s.login()
	confirm := s.get("/auth/logout", "Sec-Fetch-Site", "none")
	page := body(confirm)
	if confirm.StatusCode != http.StatusOK || !strings.Contains(page, `<main class="app">Leave`) || !strings.Contains(page, `id="app-confirm"`) {
		t.Fatalf("confirmation page: %d %s", confirm.StatusCode, page)
	}
	if csp := confirm.Header.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "form-action 'self'") || confirm.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the application's page lost the middleware's headers: CSP %q", csp)
	}
	req, _ := http.NewRequest(http.MethodPost, s.appURL+"/auth/logout", strings.NewReader("form_action=self"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.appURL)
	if resp := s.do(req); resp.StatusCode != http.StatusOK || !strings.Contains(body(resp), "/end_session?") {
		t.Fatalf("the application's confirmation form did not log out: %d %s", resp.StatusCode, body(resp))
	}
	bad := s.get("/auth/callback?state=forged&code=x", "X-Request-Id", "ref-7")
	if page := body(bad); bad.StatusCode != http.StatusBadRequest || !strings.Contains(page, `<main class="app"><h1>`) || !strings.Contains(page, "ref ref-7") {
		t.Fatalf("error page: %d %s", bad.StatusCode, page)
	}
}

// TestPagesMustBeComplete: a template set that names a page the
// middleware does not render is refused at start-up, so that a typo does
// not silently keep the default page.
func TestPagesMustBeComplete(t *testing.T) {
	pages := template.Must(template.New("").Parse(`{{define "confirm-logut"}}x{{end}}`))
	cfg := middleware.Config{AppURL: "http://127.0.0.1:8080", Keys: testKeys, Pages: pages,
		Providers: newStack(t).mwCfg.Providers}
	if _, err := middleware.New(cfg); err == nil || !strings.Contains(err.Error(), "confirm-logut") {
		t.Fatalf("New with an unknown page template: %v", err)
	}
}
