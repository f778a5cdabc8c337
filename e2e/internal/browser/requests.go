package browser

import (
	"fmt"
	"mime"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
)

// Request is one request the browser sent: each hop of a redirect chain is a
// Request of its own, in order.
type Request struct {
	URL       string // without the fragment
	Method    string
	Type      string // Chromium's resource type: Document, XHR, Fetch, Script, Image...
	MainFrame bool   // sent for the tab's top-level frame
	PostData  string // the body of a POST (form posts, up to 1 MiB)
	Status    int64  // the response status; for a redirect hop, the redirect's
	Location  string // for a redirect hop, where it redirected to
	Error     string // the network error, if the request failed
	Time      time.Time

	id          network.RequestID
	contentType string
}

// IsNavigation reports whether the request loaded the tab's top-level
// document: a typed URL, a link, a form submission, or a redirect hop.
func (r Request) IsNavigation() bool {
	return r.MainFrame && r.Type == string(network.ResourceTypeDocument)
}

// Query returns the URL's query parameters.
func (r Request) Query() url.Values {
	u, err := url.Parse(r.URL)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// Form returns the parameters of an application/x-www-form-urlencoded body.
func (r Request) Form() url.Values {
	mt, _, _ := mime.ParseMediaType(r.contentType)
	if r.PostData == "" || mt != "application/x-www-form-urlencoded" {
		return url.Values{}
	}
	v, err := url.ParseQuery(r.PostData)
	if err != nil {
		return url.Values{}
	}
	return v
}

// Params returns the query parameters and the form parameters together, so
// that a test can check a GET redirect and an auto-submitted POST form alike.
func (r Request) Params() url.Values {
	p := r.Query()
	for k, vs := range r.Form() {
		p[k] = append(p[k], vs...)
	}
	return p
}

// HasPrefix reports whether the request's URL (without query) starts with
// prefix, such as an endpoint URL.
func (r Request) HasPrefix(prefix string) bool {
	u := r.URL
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return strings.HasPrefix(u, prefix)
}

func (r Request) String() string {
	s := fmt.Sprintf("%s %s %s", r.Method, r.URL, r.Type)
	if r.Status != 0 {
		s += fmt.Sprintf(" -> %d", r.Status)
	}
	if r.Location != "" {
		s += " " + r.Location
	}
	if r.Error != "" {
		s += " error: " + r.Error
	}
	if r.PostData != "" {
		body := r.PostData
		if len(body) > 200 {
			body = body[:200] + "..."
		}
		s += " body: " + body
	}
	return s
}

// recorder keeps every request of one tab, from the browser's events.
type recorder struct {
	mu        sync.Mutex
	mainFrame cdp.FrameID
	reqs      []Request
}

// handle runs on chromedp's event loop: it must be quick and never block.
func (r *recorder) handle(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r.mu.Lock()
		defer r.mu.Unlock()
		if ev.RedirectResponse != nil {
			if i := r.last(ev.RequestID); i >= 0 {
				r.reqs[i].Status = ev.RedirectResponse.Status
				r.reqs[i].Location = header(ev.RedirectResponse.Headers, "Location")
			}
		}
		req := Request{
			URL:       ev.Request.URL,
			Method:    ev.Request.Method,
			Type:      string(ev.Type),
			MainFrame: ev.FrameID != "" && ev.FrameID == r.mainFrame,
			Time:      time.Now(),
			id:        ev.RequestID,
		}
		req.contentType = header(ev.Request.Headers, "Content-Type")
		for _, e := range ev.Request.PostDataEntries {
			req.PostData += string(e.Bytes)
		}
		r.reqs = append(r.reqs, req)
	case *network.EventResponseReceived:
		r.mu.Lock()
		defer r.mu.Unlock()
		if i := r.last(ev.RequestID); i >= 0 && ev.Response != nil {
			r.reqs[i].Status = ev.Response.Status
		}
	case *network.EventLoadingFailed:
		r.mu.Lock()
		defer r.mu.Unlock()
		if i := r.last(ev.RequestID); i >= 0 {
			r.reqs[i].Error = ev.ErrorText
		}
	}
}

func (r *recorder) last(id network.RequestID) int {
	for i := len(r.reqs) - 1; i >= 0; i-- {
		if r.reqs[i].id == id {
			return i
		}
	}
	return -1
}

func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			if s, ok := v.(string); ok {
				return s
			}
		}
	}
	return ""
}

func (r *recorder) snapshot() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

func (r *recorder) describe() string {
	var b strings.Builder
	for _, q := range r.snapshot() {
		b.WriteString("  ")
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Requests returns every request of this tab so far, in order.
func (b *Browser) Requests() []Request { return b.rec.snapshot() }

// Navigations returns the requests that loaded the tab's top-level
// document, redirect hops and form posts included, in order.
func (b *Browser) Navigations() []Request {
	var out []Request
	for _, r := range b.rec.snapshot() {
		if r.IsNavigation() {
			out = append(out, r)
		}
	}
	return out
}

// NavigationURLs returns the URLs of Navigations, with their methods.
func (b *Browser) NavigationURLs() []string {
	var out []string
	for _, r := range b.Navigations() {
		out = append(out, r.Method+" "+r.URL)
	}
	return out
}

// RequestsTo returns the requests whose URL (without query) starts with
// prefix, such as the provider's end_session_endpoint.
func (b *Browser) RequestsTo(prefix string) []Request {
	var out []Request
	for _, r := range b.rec.snapshot() {
		if r.HasPrefix(prefix) {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the requests recorded so far.
func (b *Browser) ResetRequests() {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	b.rec.reqs = nil
}
