// Package zop is the suite's second OpenID provider, written
// independently of oidc-provider: zitadel's certified OP library
// (github.com/zitadel/oidc/v3/pkg/op), with the in-memory storage of
// zitadel's own example, served in process on a loopback port.
//
// The example storage registers no post-logout redirect URIs, so the
// clients of the application under test get theirs here, along with its
// callback URLs. Three clients are registered: a confidential one (HTTP
// Basic), a public one (PKCE, no secret) and a confidential one whose ID
// tokens live ShortIDTokenLifetime. The login page is a plain form
// (#username, #password, #login): it asks for the password at every
// login, since the example keeps no session of its own.
package zop

import (
	"context"
	"crypto/rand"
	"errors"
	"html/template"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// The clients registered at the provider.
const (
	ConfidentialClientID     = "endsession-web"
	ConfidentialClientSecret = "endsession-web-secret"
	PublicClientID           = "endsession-public"
	ShortClientID            = "endsession-short"
	ShortClientSecret        = "endsession-short-secret"
)

// ShortIDTokenLifetime is the lifetime of the ShortClientID's ID tokens.
const ShortIDTokenLifetime = 3 * time.Second

// The user: Username (the example's user store names it after the
// issuer's host) signs in with Password; its subject is Subject.
const (
	Username = "test-user@127.0.0.1"
	Password = "verysecure"
	Subject  = "id1"
)

// The paths of the application the clients are registered for (the
// middleware's defaults).
const (
	CallbackPath  = "/auth/callback"
	LoggedOutPath = "/auth/logged-out"
)

// Provider is a running provider.
type Provider struct {
	// URL is the issuer, http://127.0.0.1:PORT.
	URL string
}

// Start serves a provider on a free loopback port until the test ends,
// with the clients registered for the application at appURL: its callback
// (also under /auth/callback/<name>, for each name given) and its
// post-logout landing URL.
func Start(t testing.TB, appURL string, names ...string) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	redirects := []string{appURL + CallbackPath}
	for _, n := range names {
		redirects = append(redirects, appURL+CallbackPath+"/"+n)
	}
	clients := map[string]*storage.Client{
		ConfidentialClientID: storage.WebClient(ConfidentialClientID, ConfidentialClientSecret, redirects...),
		PublicClientID:       storage.NativeClient(PublicClientID, redirects...),
		ShortClientID:        storage.WebClient(ShortClientID, ShortClientSecret, redirects...),
	}
	s := &clientStorage{
		Storage:    storage.NewStorageWithClients(storage.NewUserStore(issuer), clients),
		postLogout: []string{appURL + LoggedOutPath},
		idTTL:      map[string]time.Duration{ShortClientID: ShortIDTokenLifetime},
	}
	var key [32]byte
	rand.Read(key[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                key,
		CryptoKeyId:              "e2e",
		DefaultLogoutRedirectURI: "/signed-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
	}, s, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	login := &loginPage{storage: s, callback: op.AuthCallbackURL(provider)}
	issuerCtx := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux := http.NewServeMux()
	mux.Handle("/login/username", issuerCtx.Handler(login))
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<p id="zop-signed-out">signed out</p>`))
	})
	mux.Handle("/", provider)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &Provider{URL: issuer}
}

// clientStorage is the example's storage with the application's
// post-logout redirect URIs, and shorter ID tokens for some clients.
type clientStorage struct {
	*storage.Storage
	postLogout []string
	idTTL      map[string]time.Duration
}

// GetClientByClientID implements op.Storage.
func (s *clientStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return client{Client: c, postLogout: s.postLogout, idTTL: s.idTTL[id]}, nil
}

// client is a registered client with its post-logout redirect URIs.
type client struct {
	op.Client
	postLogout []string
	idTTL      time.Duration
}

// PostLogoutRedirectURIs implements op.Client.
func (c client) PostLogoutRedirectURIs() []string { return c.postLogout }

// IDTokenLifetime implements op.Client.
func (c client) IDTokenLifetime() time.Duration {
	if c.idTTL > 0 {
		return c.idTTL
	}
	return c.Client.IDTokenLifetime()
}

// loginPage asks for the user's name and password, then sends the browser
// back to the provider's authorization callback.
type loginPage struct {
	storage  *clientStorage
	callback func(context.Context, string) string
}

var loginForm = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<form method="post" action="/login/username" id="zop-login">
<input type="hidden" name="id" value="{{.ID}}">
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<p id="zop-error">{{.Error}}</p>
<button id="login" type="submit">Sign in</button>
</form></body></html>`))

func (l *loginPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		l.render(w, r.URL.Query().Get("authRequestID"), nil)
	case http.MethodPost:
		id := r.FormValue("id")
		if err := l.storage.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
			l.render(w, id, errors.New("wrong username or password"))
			return
		}
		http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (l *loginPage) render(w http.ResponseWriter, id string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	loginForm.Execute(w, map[string]string{"ID": id, "Error": msg})
}
