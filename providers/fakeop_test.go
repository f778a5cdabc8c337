package providers_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fakeOP is a small OpenID provider that checks what it receives and
// answers as the provider it stands for, per its fields. It signs RS256 ID
// tokens with a key made for the test, and records every request.
type fakeOP struct {
	t        *testing.T
	issuer   string
	clientID string
	secret   string
	// base is the scheme://host its endpoints are under, for discovery.
	base  string
	paths opPaths

	// auth is the client authentication the token endpoint requires:
	// "post" (secret in the body, no Authorization header), "basic" or
	// "none".
	auth string
	// tokenQuery must be in the token URL's query, and not in the body.
	tokenQuery url.Values
	// nonceInToken echoes the nonce at the token response's top level;
	// tokenNonce replaces the echoed value.
	nonceInToken bool
	tokenNonce   string
	// callbackIss sends "iss" on the callback (empty: none).
	callbackIss string
	// callbackExtras adds client_id and scope to the callback.
	callbackExtras bool
	// aud, when set, is the ID token's "aud" as a JSON array; azp its
	// "azp".
	aud []string
	azp string
	// tokenIss, when set, is the ID tokens' iss in place of issuer (a
	// multi-tenant provider's discovery names a template).
	tokenIss string
	// claims are added to the ID tokens.
	claims map[string]any
	// endSession advertises the logout endpoint in discovery.
	endSession bool
	// doc replaces or adds members of the discovery document, for
	// providers whose endpoints are on several hosts.
	doc map[string]any

	// logoutNeeds are the logout parameters the provider refuses a
	// logout without. A client_id sent must be the client's.
	logoutNeeds []string

	// logoutMethods are the accepted logout methods; default GET.
	logoutMethods []string
	// returnParam names the logout's landing URL parameter; returnTo
	// lists the allowed landing URLs (exact match; empty: any).
	returnParam string
	returnTo    []string
	// echoState returns state on the logout redirect.
	echoState bool

	// refresh issues refresh tokens and redeems them (grant_type
	// refresh_token), each once.
	refresh bool
	// idTTL is the ID tokens' lifetime; default an hour.
	idTTL time.Duration
	// revokeRefreshOnly makes the revocation endpoint (paths.Revocation)
	// refuse anything but a refresh token it issued, as Auth0's does.
	revokeRefreshOnly bool

	key    *rsa.PrivateKey
	mu     sync.Mutex
	codes  map[string]grant
	tokens map[string]bool // access tokens issued
	ids    map[string]bool // ID tokens issued
	rts    map[string]bool // refresh tokens issued and not yet used
	log    []recorded
}

type opPaths struct {
	Discovery, Authorize, Token, JWKS, UserInfo, Logout, Revocation string
}

type grant struct {
	nonce, redirect, challenge string
}

const testSubject = "user-1234"

func newFakeOP(t *testing.T, issuer, clientID, secret string) *fakeOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeOP{
		t: t, issuer: issuer, clientID: clientID, secret: secret, auth: "basic",
		returnParam: "post_logout_redirect_uri", echoState: true,
		claims: map[string]any{"email": "ada@example.com", "name": "Ada Lovelace", "sid": "sid-42"},
		key:    key, codes: map[string]grant{}, tokens: map[string]bool{}, ids: map[string]bool{}, rts: map[string]bool{},
	}
}

// requests returns the recorded requests of one kind ("authorize",
// "token", "jwks", "userinfo", "logout", "discovery").
func (op *fakeOP) requests(kind string) []recorded {
	op.mu.Lock()
	defer op.mu.Unlock()
	var out []recorded
	for _, r := range op.log {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// only returns the one request of a kind.
func (op *fakeOP) only(kind string) recorded {
	op.t.Helper()
	rs := op.requests(kind)
	if len(rs) != 1 {
		op.t.Fatalf("%d %s requests, want 1", len(rs), kind)
	}
	return rs[0]
}

func (op *fakeOP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := ""
	switch r.URL.Path {
	case op.paths.Discovery:
		kind = "discovery"
	case op.paths.Authorize:
		kind = "authorize"
	case op.paths.Token:
		kind = "token"
	case op.paths.JWKS:
		kind = "jwks"
	case op.paths.UserInfo:
		kind = "userinfo"
	case op.paths.Logout:
		kind = "logout"
	case op.paths.Revocation:
		kind = "revocation"
	}
	if kind == "" || r.URL.Path == "" {
		http.NotFound(w, r)
		return
	}
	rec := record(kind, r)
	op.mu.Lock()
	op.log = append(op.log, rec)
	op.mu.Unlock()
	switch kind {
	case "discovery":
		op.discovery(w)
	case "authorize":
		op.authorize(w, r)
	case "token":
		op.token(w, r, rec)
	case "jwks":
		op.jwks(w)
	case "userinfo":
		op.userinfo(w, r)
	case "logout":
		op.logout(w, r, rec)
	case "revocation":
		op.revocation(w, rec)
	}
}

func (op *fakeOP) discovery(w http.ResponseWriter) {
	doc := map[string]any{
		"issuer":                                op.issuer,
		"authorization_endpoint":                op.base + op.paths.Authorize,
		"token_endpoint":                        op.base + op.paths.Token,
		"jwks_uri":                              op.base + op.paths.JWKS,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
	if op.paths.UserInfo != "" {
		doc["userinfo_endpoint"] = op.base + op.paths.UserInfo
	}
	if op.endSession {
		doc["end_session_endpoint"] = op.base + op.paths.Logout
	}
	if op.paths.Revocation != "" {
		doc["revocation_endpoint"] = op.base + op.paths.Revocation
	}
	for k, v := range op.doc {
		doc[k] = v
	}
	writeJSON(w, http.StatusOK, doc)
}

func (op *fakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.Method != http.MethodGet:
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	case q.Get("client_id") != op.clientID, q.Get("response_type") != "code", q.Get("redirect_uri") == "",
		q.Get("state") == "", q.Get("nonce") == "", q.Get("code_challenge") == "", q.Get("code_challenge_method") != "S256":
		http.Error(w, "invalid_request", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	op.mu.Lock()
	op.codes[code] = grant{nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	op.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	if op.callbackIss != "" {
		back.Set("iss", op.callbackIss)
	}
	if op.callbackExtras {
		back.Set("client_id", op.clientID)
		back.Set("scope", q.Get("scope"))
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request, rec recorded) {
	fail := func(status int, code string) {
		writeJSON(w, status, map[string]string{"error": code})
	}
	if r.Method != http.MethodPost || rec.Form == nil {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	form := rec.Form
	for k, vs := range op.tokenQuery {
		if r.URL.Query().Get(k) != vs[0] || form.Has(k) {
			fail(http.StatusBadRequest, "invalid_request")
			return
		}
	}
	user, pass, basic := r.BasicAuth()
	switch op.auth {
	case "post":
		if r.Header.Get("Authorization") != "" || form.Get("client_id") != op.clientID || form.Get("client_secret") != op.secret {
			fail(http.StatusUnauthorized, "invalid_client")
			return
		}
	case "basic":
		if !basic || user != url.QueryEscape(op.clientID) || pass != url.QueryEscape(op.secret) || form.Has("client_secret") {
			fail(http.StatusUnauthorized, "invalid_client")
			return
		}
	case "none":
		if basic || form.Get("client_id") != op.clientID || form.Has("client_secret") {
			fail(http.StatusUnauthorized, "invalid_client")
			return
		}
	}
	if form.Get("grant_type") == "refresh_token" {
		op.mu.Lock()
		ok := op.refresh && op.rts[form.Get("refresh_token")]
		delete(op.rts, form.Get("refresh_token"))
		op.mu.Unlock()
		if !ok {
			fail(http.StatusBadRequest, "invalid_grant")
			return
		}
		op.issue(w, "")
		return
	}
	op.mu.Lock()
	g, ok := op.codes[form.Get("code")]
	delete(op.codes, form.Get("code"))
	op.mu.Unlock()
	sum := sha256.Sum256([]byte(form.Get("code_verifier")))
	if form.Get("grant_type") != "authorization_code" || !ok || form.Get("redirect_uri") != g.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		fail(http.StatusBadRequest, "invalid_grant")
		return
	}
	op.issue(w, g.nonce)
}

// issue answers a token request with new tokens; nonce is the one of the
// authorization request, "" at a refresh.
func (op *fakeOP) issue(w http.ResponseWriter, nonce string) {
	access := "at-" + rand.Text()
	idToken := op.sign(nonce)
	op.mu.Lock()
	op.tokens[access] = true
	op.ids[idToken] = true
	op.mu.Unlock()
	resp := map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": 59,
		"id_token": idToken, "scope": "openid profile email",
	}
	if op.refresh {
		rt := "rt-" + rand.Text()
		op.mu.Lock()
		op.rts[rt] = true
		op.mu.Unlock()
		resp["refresh_token"] = rt
	}
	if op.nonceInToken && nonce != "" {
		resp["nonce"] = nonce
		if op.tokenNonce != "" {
			resp["nonce"] = op.tokenNonce
		}
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// sign makes an ID token for testSubject.
func (op *fakeOP) sign(nonce string) string {
	now := time.Now()
	ttl := op.idTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	claims := map[string]any{
		"iss": or(op.tokenIss, op.issuer), "sub": testSubject, "aud": op.clientID,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if op.aud != nil {
		claims["aud"] = op.aud
	}
	if op.azp != "" {
		claims["azp"] = op.azp
	}
	for k, v := range op.claims {
		claims[k] = v
	}
	return signJWT(op.t, op.key, claims)
}

func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Error(err)
		return ""
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Error(err)
		return ""
	}
	raw, _ := obj.CompactSerialize()
	return raw
}

func (op *fakeOP) jwks(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"},
	}})
}

func (op *fakeOP) userinfo(w http.ResponseWriter, r *http.Request) {
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	op.mu.Lock()
	ok = ok && op.tokens[access]
	op.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": testSubject, "given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.com"})
}

// logout checks the hint (an ID token it issued; expired ones are fine)
// and the landing URL, then redirects there, with the state if asked.
func (op *fakeOP) logout(w http.ResponseWriter, r *http.Request, rec recorded) {
	methods := op.logoutMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet}
	}
	allowed := false
	for _, m := range methods {
		allowed = allowed || m == r.Method
	}
	if !allowed {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	params := rec.Query
	if r.Method == http.MethodPost {
		params = rec.Form
	}
	for _, k := range op.logoutNeeds {
		if params.Get(k) == "" {
			http.Error(w, "the logout needs "+k, http.StatusBadRequest)
			return
		}
	}
	if params.Has("client_id") && params.Get("client_id") != op.clientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	op.mu.Lock()
	known := op.ids[params.Get("id_token_hint")]
	op.mu.Unlock()
	if params.Has("id_token_hint") && !known {
		http.Error(w, "invalid id_token_hint", http.StatusBadRequest)
		return
	}
	target := params.Get(op.returnParam)
	if target == "" {
		w.Write([]byte("You are signed out."))
		return
	}
	if len(op.returnTo) > 0 {
		ok := false
		for _, allowed := range op.returnTo {
			ok = ok || allowed == target
		}
		if !ok {
			http.Error(w, "the logout return URL is not allowed", http.StatusBadRequest)
			return
		}
	}
	if op.echoState && params.Get("state") != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + url.Values{"state": {params.Get("state")}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// revocation answers an RFC 7009 revocation request: 200 for any token,
// or, with revokeRefreshOnly, 400 for anything but a refresh token issued.
func (op *fakeOP) revocation(w http.ResponseWriter, rec recorded) {
	if rec.Method != http.MethodPost || rec.Form == nil || rec.Form.Get("token") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if op.revokeRefreshOnly && !strings.HasPrefix(rec.Form.Get("token"), "rt-") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_token_type"})
		return
	}
	op.mu.Lock()
	delete(op.rts, rec.Form.Get("token"))
	op.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// or returns s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
