package middleware

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// The pages the middleware renders, each replaceable through
// [Config.Pages] by a template of the same name.

// render writes one of the middleware's pages; they can't be framed and
// run no script except a nonce'd one that submits the logout form or
// navigates to the provider. Forms go nowhere unless data["FormAction"]
// lists where a page's own form, and the redirects that follow it, may
// go: browsers check both against form-action.
func render(w http.ResponseWriter, status int, t *template.Template, data map[string]any) {
	h := w.Header()
	formAction, ok := data["FormAction"].(string)
	if !ok {
		formAction = "'none'"
	}
	script := ""
	if nonce, ok := data["Nonce"].(string); ok {
		script = "script-src 'nonce-" + nonce + "'; "
	}
	csp := "default-src 'none'; style-src 'unsafe-inline'; " + script + "frame-ancestors 'none'; base-uri 'none'; form-action " + formAction
	if frameAncestors, ok := data["FrameAncestors"].(string); ok {
		csp = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors " + frameAncestors
	} else {
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Security-Policy", csp)
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	t.Execute(w, data)
}

// pageHead opens every page of the middleware.
const pageHead = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{{.Title}}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.4rem 1rem}small{color:#666}</style></head><body>`

var (
	pageError = template.Must(template.New("error").Parse(pageHead +
		`<h1>{{.Title}}</h1><p>{{.Error.Message}}</p>` + pageFoot))

	pageConfirmLogout = template.Must(template.New("confirm-logout").Parse(pageHead +
		`<h1>Sign out?</h1><p>Do you want to sign out?</p><form method="post" action="{{.Action}}">` +
		`{{if .ReturnTo}}<input type="hidden" name="return_to" value="{{.ReturnTo}}">{{end}}` +
		`<input type="hidden" name="{{.FormActionField}}" value="self">` +
		`<button type="submit" id="confirm-logout">Sign out</button></form>` + pageFoot))

	pageFormPost = template.Must(template.New("signing-out-form").Parse(pageHead +
		`<h1>Signing out…</h1><form method="post" action="{{.URL}}" id="logout-form">` +
		`{{range $k, $vs := .Form}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}` +
		`<noscript><button type="submit">Continue</button></noscript></form>` +
		`<script nonce="{{.Nonce}}">document.getElementById("logout-form").submit()</script>` + pageFoot))

	// pageNavigate takes the browser to the provider's logout from a page
	// of the application, where a redirect would be blocked.
	pageNavigate = template.Must(template.New("signing-out").Parse(pageHead +
		`<h1>Signing out…</h1><p><a id="logout-continue" href="{{.URL}}">Continue</a></p>` +
		`<script nonce="{{.Nonce}}">location.replace({{.URL}})</script>` + pageFoot))

	pageChooseProvider = template.Must(template.New("choose-provider").Parse(pageHead +
		`<h1>Sign in</h1><ul>{{range .Links}}<li><a href="{{.URL}}">{{.Name}}</a></li>{{end}}</ul>` + pageFoot))

	pageFrontchannel = template.Must(template.New("frontchannel").Parse(pageHead +
		`<p>{{.Message}}</p>` + pageFoot))
)

// pageFoot closes every page, with the reference that ties it to the log.
const pageFoot = `{{if .CorrelationID}}<p><small>Reference: {{.CorrelationID}}</small></p>{{end}}</body></html>`

// defaultPages are the middleware's own pages, by name.
var defaultPages = map[string]*template.Template{}

func init() {
	for _, t := range []*template.Template{pageError, pageConfirmLogout, pageFormPost, pageNavigate, pageChooseProvider, pageFrontchannel} {
		defaultPages[t.Name()] = t
	}
}

// page returns the application's template for the page def, or def.
func (m *Middleware) page(def *template.Template) *template.Template {
	if m.cfg.Pages != nil {
		if t := m.cfg.Pages.Lookup(def.Name()); t != nil {
			return t
		}
	}
	return def
}

// validPages refuses a template set with a template that is neither a
// page nor a part (a name beginning with "_").
func validPages(pages *template.Template) error {
	if pages == nil {
		return nil
	}
	for _, t := range pages.Templates() {
		name := t.Name()
		if name == pages.Name() || strings.HasPrefix(name, "_") || defaultPages[name] != nil {
			continue
		}
		return fmt.Errorf("middleware: Pages: %q is not a page the middleware renders (pages: error, confirm-logout, choose-provider, signing-out, signing-out-form, frontchannel; parts begin with \"_\")", name)
	}
	return nil
}

// headline is an error page's heading, for the person who reads it.
func headline(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "Please sign in"
	case status == http.StatusForbidden:
		return "Access refused"
	case status == http.StatusNotFound:
		return "There is nothing here"
	case status == http.StatusMethodNotAllowed:
		return "This address cannot be used this way"
	case status == http.StatusTooManyRequests:
		return "Too many attempts at once"
	case status < 500:
		return "This request could not be completed"
	case status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return "Sign-in is unavailable for the moment"
	case status == http.StatusServiceUnavailable:
		return "This site is briefly unavailable"
	}
	return "Something went wrong on this site"
}
