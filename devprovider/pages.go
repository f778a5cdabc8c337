package devprovider

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
)

// pageData feeds the page templates.
type pageData struct {
	Title   string
	Message string
	// login page
	Client   string
	Action   string
	Hidden   []hiddenField
	Username string
	Error    string
	Hint     string
	// signed-out page
	Frames []string
	Next   string
}

type hiddenField struct{ Name, Value string }

// authParams are the authorization request parameters the login form
// carries to /login.
var authParams = []string{
	"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "ui_locales", "login_hint",
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; background: #f4f5f7; color: #1d2330; margin: 0; }
  main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
         border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
  h1 { font-size: 1.35rem; margin: 0 0 1rem; }
  label { display: block; font-size: .9rem; margin: .8rem 0 .25rem; }
  input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .55rem;
         font: inherit; border: 1px solid #b9bfca; border-radius: 4px; }
  button, .button { display: inline-block; margin-top: 1.2rem; width: 100%; padding: .6rem; font: inherit;
         color: #fff; background: #2f5bd3; border: 0; border-radius: 4px; cursor: pointer;
         text-align: center; text-decoration: none; box-sizing: border-box; }
  .error { color: #a3231b; background: #fdecea; padding: .5rem .7rem; border-radius: 4px; }
  .muted { color: #667085; font-size: .85rem; }
  iframe { display: none; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{end}}

{{define "foot"}}<p class="muted">Development OpenID provider</p>
</main>
</body>
</html>
{{end}}

{{define "login"}}{{template "head" .}}
<p class="muted">to continue to <strong>{{.Client}}</strong></p>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autofocus required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="submit">Sign in</button>
</form>
{{if .Hint}}<p class="muted">{{.Hint}}</p>{{end}}
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}
<p class="error" id="error">{{.Message}}</p>
{{template "foot" .}}{{end}}

{{define "signedout"}}{{template "head" .}}
{{range .Frames}}<iframe src="{{.}}" title="logout"></iframe>
{{end}}{{if .Next}}<p><a class="button" id="continue" href="{{.Next}}">Continue</a></p>
<script>
(function () {
  var next = {{.Next}}, left = document.querySelectorAll("iframe").length;
  function go() { window.location.replace(next); }
  document.querySelectorAll("iframe").forEach(function (f) {
    f.addEventListener("load", function () { if (--left === 0) go(); });
  });
  setTimeout(go, 3000);
})();
</script>
{{else}}<p>You can close this window.</p>{{end}}
{{template "foot" .}}{{end}}
`))

// renderPage renders the named page with status.
func (s *Server) renderPage(w http.ResponseWriter, status int, name string, data pageData) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("devprovider: rendering page", "page", name, "err", err)
		http.Error(w, "devprovider: rendering page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderError shows an error page. It never redirects.
func (s *Server) renderError(w http.ResponseWriter, status int, message string) {
	s.renderPage(w, status, "error", pageData{Title: "Request rejected", Message: message})
}

// renderLogin shows the login form for req, carrying the request
// parameters in form.
func (s *Server) renderLogin(w http.ResponseWriter, status int, form url.Values, req *authRequest, errMsg string) {
	data := pageData{
		Title:    "Sign in",
		Client:   req.client.ID,
		Action:   endpoint(s.Issuer(), loginPath),
		Username: form.Get("username"),
		Error:    errMsg,
	}
	if data.Username == "" {
		data.Username = req.loginHint
	}
	for _, name := range authParams {
		if v := form.Get(name); v != "" {
			data.Hidden = append(data.Hidden, hiddenField{name, v})
		}
	}
	if len(s.cfg.Users) == 0 {
		data.Hint = "Sign in as alice, password alice."
	}
	s.renderPage(w, status, "login", data)
}
