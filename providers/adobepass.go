package providers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/internal/answer"
)

// Adobe Pass Authentication hosts (SP_FQDN): production and staging.
const (
	AdobeProduction = "https://api.auth.adobe.com"
	AdobeStaging    = "https://api.auth-staging.adobe.com"
)

// The hosts relative MVPD logout URLs of REST API v2 are resolved against
// (inferred from Adobe's samples, where absolute URLs are on this host).
const (
	adobeSPProduction = "https://sp.auth.adobe.com"
	adobeSPStaging    = "https://sp.auth-staging.adobe.com"
)

// NoticePartnerLogout is the post-logout notice when Adobe Pass says the
// user signed in through a platform single sign-on (Apple's) and must
// also sign out at the system level.
const NoticePartnerLogout = "partner-logout"

// AdobePass returns an Adobe Pass Authentication provider named "adobe"
// for a clientless (device) flow: there is no OpenID Connect login
// through the middleware (its Issuer is empty). The application runs the
// device flow itself, then records the device in a new session:
//
//	m.StartSession(w, r, session.Data{Provider: "adobe", Subject: userID,
//		Device: &session.Device{ID: deviceID, Info: deviceInfoJSON, Requestor: "REF30", MVPD: mvpd}})
//
// Info is the device information's JSON, as Adobe's X-Device-Info
// describes it; its "connectionIp", when set, is sent as X-Forwarded-For.
// At logout the middleware deletes that session first; then logout tells
// Adobe Pass, server to server.
func AdobePass(logout AdobePassLogout) Provider {
	return Provider{Name: "adobe", Logout: logout}
}

// AdobePassLogout removes a device's authentication and authorization
// tokens at Adobe Pass, server to server, with the device recorded in the
// session ([LogoutRequest.Device]).
//
// Adobe's product announcements end support for REST API v1 on
// 2025-12-31 (its end of life follows, at the end of 2026), so REST API
// v2 is the default. It sends
//
//	GET <BaseURL>/api/v2/<Device.Requestor>/logout/<Device.MVPD>?redirectUrl=<landing URL>
//	Authorization: Bearer <token>
//	AP-Device-Identifier: fingerprint <Base64 of Device.ID>
//	X-Device-Info: <Device.Info, Base64-encoded>
//	X-Forwarded-For: <the device's address>
//	Accept: application/json
//
// X-Forwarded-For, which Adobe strongly recommends on calls made from a
// server for a device, carries the "connectionIp" of the device
// information (Device.Info, the JSON of Adobe's X-Device-Info), and is
// left out when it holds no IP address. Adobe deletes the profile before
// it answers. When the answer's action for the MVPD is "logout" and
// "interactive", the browser goes to its URL, the MVPD's logout, which
// returns to the landing URL; on "partner_logout" the user lands with the
// [NoticePartnerLogout] notice; any other action ends locally.
//
// With V1, the legacy REST API, it sends
//
//	DELETE <BaseURL>/api/v1/logout?deviceId=<Device.ID>&requestor=<Device.Requestor>
//	Authorization: Bearer <token>
//	X-Device-Info: <Device.Info, Base64-encoded>
//
// and expects 204; the user then lands on the application's post-logout
// page. v1 does not log the user out of their TV provider (MVPD).
//
// X-Device-Info is the same on every call, here and in [AdobeDCR]: the
// device information's JSON in standard Base64, as the examples of
// Adobe's REST API v2 header page give it. (Adobe's older page asks for it
// URL-encoded too, which is for the device_info query parameter; a
// header needs no URL encoding.)
//
// A 401 gets a new token from Tokens and the call is retried once. Any
// other answer, or no answer within Timeout, is an error: the middleware
// has already deleted the session, logs and reports the error, and lands
// the user with the "provider-unreachable" notice.
//
// Documentation: https://experienceleague.adobe.com/en/docs/pass/authentication/integration-guide-programmers/rest-apis/rest-api-v2/apis/logout-apis/rest-api-v2-logout-apis-initiate-logout-for-specific-mvpd
// Documentation: https://experienceleague.adobe.com/en/docs/pass/authentication/integration-guide-programmers/rest-apis/rest-api-v2/appendix/headers/rest-api-v2-appendix-headers-x-device-info
// Documentation: https://experienceleague.adobe.com/en/docs/pass/authentication/integration-guide-programmers/rest-apis/rest-api-v2/appendix/headers/rest-api-v2-appendix-headers-x-forwarded-for
// Documentation: https://experienceleague.adobe.com/docs/primetime/authentication/auth-features/legacy/rest-api-v1/apis/initiate-logout.html
type AdobePassLogout struct {
	// BaseURL is the Adobe Pass host: AdobeProduction (default) or
	// AdobeStaging.
	BaseURL string
	// Tokens gives the Dynamic Client Registration access token sent as
	// Bearer; an [*AdobeDCR] gets one and renews it. Required. A source
	// with a TokenContext(ctx) method is called with the logout's
	// context; one with an Invalidate(*oauth2.Token) method is told of a
	// token Adobe refused (401) before a new one is asked for.
	Tokens oauth2.TokenSource
	// V1 uses the legacy REST API v1 instead of v2, for integrations not
	// yet moved. With v2 (the default) the session's device must name its
	// requestor (the service provider) and its MVPD.
	V1 bool
	// SPURL resolves relative MVPD logout URLs in v2 answers. Default
	// "https://sp.auth.adobe.com" with AdobeProduction,
	// "https://sp.auth-staging.adobe.com" with AdobeStaging (both
	// inferred from Adobe's samples), and BaseURL otherwise.
	SPURL string
	// Timeout caps the whole call, token renewal and retry included;
	// default 5 seconds. The middleware's LogoutTimeout also applies: the
	// shorter one wins.
	Timeout time.Duration
}

// EndSession implements [Logout].
func (l AdobePassLogout) EndSession(ctx context.Context, req *LogoutRequest) (Action, error) {
	d := req.Device
	switch {
	case d == nil || d.ID == "":
		return Action{}, errors.New("providers: adobe pass: the session records no device")
	case d.Info == "":
		return Action{}, errors.New("providers: adobe pass: the session's device has no device information")
	case l.Tokens == nil:
		return Action{}, errors.New("providers: adobe pass: no token source")
	case !l.V1 && (d.Requestor == "" || d.MVPD == ""):
		return Action{}, errors.New("providers: adobe pass: REST API v2 logout needs the device's requestor and MVPD")
	}
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base := strings.TrimSuffix(or(l.BaseURL, AdobeProduction), "/")

	var method, endpoint string
	header := http.Header{}
	header.Set("X-Device-Info", adobeDeviceInfo(d.Info))
	query := url.Values{}
	if l.V1 {
		method = http.MethodDelete
		endpoint = base + "/api/v1/logout"
		query.Set("deviceId", d.ID)
		if d.Requestor != "" {
			query.Set("requestor", d.Requestor)
		}
	} else {
		method = http.MethodGet
		endpoint = base + "/api/v2/" + url.PathEscape(d.Requestor) + "/logout/" + url.PathEscape(d.MVPD)
		query.Set("redirectUrl", req.ReturnURL)
		header.Set("AP-Device-Identifier", "fingerprint "+base64.StdEncoding.EncodeToString([]byte(d.ID)))
		header.Set("Accept", "application/json")
		if ip := deviceAddress(d.Info); ip != "" {
			header.Set("X-Forwarded-For", ip)
		}
	}

	client := req.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	status, body, calls, err := l.call(ctx, client, method, endpoint+"?"+query.Encode(), header)
	act := Action{Calls: calls}
	if err != nil {
		return act, err
	}
	if l.V1 {
		if status != http.StatusNoContent {
			return act, fmt.Errorf("providers: adobe pass: logout answered %d", status)
		}
		return act, nil
	}
	if status != http.StatusOK {
		return act, fmt.Errorf("providers: adobe pass: logout answered %d", status)
	}
	var answer struct {
		Logouts map[string]struct {
			ActionName string `json:"actionName"`
			ActionType string `json:"actionType"`
			URL        string `json:"url"`
		} `json:"logouts"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return act, fmt.Errorf("providers: adobe pass: logout answer: %w", err)
	}
	next := answer.Logouts[d.MVPD]
	switch {
	case next.ActionName == "logout" && next.ActionType == "interactive" && next.URL != "":
		target, err := l.resolveSP(base, next.URL)
		if err != nil {
			return act, err
		}
		act.Method, act.URL = http.MethodGet, target
	case next.ActionName == "partner_logout":
		act.Notice = NoticePartnerLogout
	}
	return act, nil
}

// adobeDeviceInfo is the X-Device-Info header of every call: the device
// information's JSON in standard Base64.
func adobeDeviceInfo(info string) string {
	return base64.StdEncoding.EncodeToString([]byte(info))
}

// deviceAddress is the "connectionIp" of the device information, when it
// is an IP address; "" otherwise.
func deviceAddress(info string) string {
	var v struct {
		ConnectionIP string `json:"connectionIp"`
	}
	if json.Unmarshal([]byte(info), &v) != nil {
		return ""
	}
	ip, err := netip.ParseAddr(v.ConnectionIP)
	if err != nil {
		return ""
	}
	return ip.String()
}

// call makes the request with a bearer token, and once more with a new
// token if Adobe answers 401. It returns the last status and body, and a
// line per call for the audit report (without the query, which names the
// device).
func (l AdobePassLogout) call(ctx context.Context, client *http.Client, method, target string, header http.Header) (int, []byte, []string, error) {
	var calls []string
	var refused *oauth2.Token
	for attempt := 0; ; attempt++ {
		tok, err := token(ctx, l.Tokens)
		if err != nil {
			return 0, nil, calls, fmt.Errorf("providers: adobe pass: access token: %w", err)
		}
		if refused != nil && tok.AccessToken == refused.AccessToken {
			return 0, nil, calls, errors.New("providers: adobe pass: access token refused and no new one available")
		}
		req, err := http.NewRequestWithContext(ctx, method, target, nil)
		if err != nil {
			return 0, nil, calls, fmt.Errorf("providers: adobe pass: %w", err)
		}
		req.Header = header.Clone()
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := client.Do(req)
		if err != nil {
			calls = append(calls, method+" "+stripQuery(target)+": no answer")
			return 0, nil, calls, fmt.Errorf("providers: adobe pass: %w", err)
		}
		body, err := answer.Read(resp, 64<<10)
		resp.Body.Close()
		// The status code alone: the reason phrase is the provider's text.
		calls = append(calls, method+" "+stripQuery(target)+": "+strconv.Itoa(resp.StatusCode))
		if err != nil {
			return 0, nil, calls, fmt.Errorf("providers: adobe pass: %w", err)
		}
		if resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return resp.StatusCode, body, calls, nil
		}
		refused = tok
		if inv, ok := l.Tokens.(interface{ Invalidate(*oauth2.Token) }); ok {
			inv.Invalidate(tok)
		}
	}
}

// resolveSP makes an MVPD logout URL absolute, against SPURL.
func (l AdobePassLogout) resolveSP(base, raw string) (string, error) {
	sp := l.SPURL
	if sp == "" {
		switch base {
		case AdobeProduction:
			sp = adobeSPProduction
		case AdobeStaging:
			sp = adobeSPStaging
		default:
			sp = base
		}
	}
	spURL, err := url.Parse(sp)
	if err != nil {
		return "", fmt.Errorf("providers: adobe pass: SPURL: %w", err)
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("providers: adobe pass: MVPD logout URL: %w", err)
	}
	u := spURL.ResolveReference(ref)
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("providers: adobe pass: MVPD logout URL %q is not an http(s) URL", stripQuery(raw))
	}
	return u.String(), nil
}

// token asks src for a token, with ctx when src takes one.
func token(ctx context.Context, src oauth2.TokenSource) (*oauth2.Token, error) {
	if c, ok := src.(interface {
		TokenContext(context.Context) (*oauth2.Token, error)
	}); ok {
		return c.TokenContext(ctx)
	}
	return src.Token()
}

func stripQuery(raw string) string {
	s, _, _ := strings.Cut(raw, "?")
	return s
}

// AdobeDCR gets Adobe Pass access tokens with the client credentials of a
// Dynamic Client Registration, and keeps the current one until shortly
// before it expires (Adobe's last about six hours). It is safe for
// concurrent use; the zero value, with ClientID and ClientSecret set, is
// ready.
//
// The client credentials come from registering once with the software
// statement downloaded from Adobe's TVE Dashboard (POST /o/client/register)
// and are kept for good; AdobeDCR only makes
//
//	POST <BaseURL>/o/client/token
//	Content-Type: application/x-www-form-urlencoded
//
//	client_id=...&client_secret=...&grant_type=client_credentials
//
// and expects 201 with access_token and expires_in.
//
// Documentation: https://experienceleague.adobe.com/en/docs/pass/authentication/integration-guide-programmers/rest-apis/rest-api-dcr/apis/dynamic-client-registration-apis-retrieve-access-token
type AdobeDCR struct {
	// BaseURL is the Adobe Pass host: AdobeProduction (default) or
	// AdobeStaging.
	BaseURL string
	// ClientID is the client id Adobe returned at registration.
	ClientID string
	// ClientSecret is the client secret Adobe returned at registration.
	ClientSecret string
	// DeviceInfo, when set, is the JSON device information sent
	// (Base64-encoded) as X-Device-Info; without it Adobe uses what it
	// extracts from the request.
	DeviceInfo string
	// HTTPClient makes the token requests; default a client with a
	// 10-second timeout.
	HTTPClient *http.Client
	// EarlyRenewal is how long before its expiry a token is replaced;
	// default 5 minutes.
	EarlyRenewal time.Duration

	mu  sync.Mutex
	tok *oauth2.Token
}

// Token returns the current access token, getting a new one when there is
// none or it is about to expire.
func (d *AdobeDCR) Token() (*oauth2.Token, error) { return d.TokenContext(context.Background()) }

// TokenContext is [AdobeDCR.Token] with a context for the request.
func (d *AdobeDCR) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	margin := d.EarlyRenewal
	if margin == 0 {
		margin = 5 * time.Minute
	}
	if d.tok != nil && (d.tok.Expiry.IsZero() || time.Until(d.tok.Expiry) > margin) {
		return d.tok, nil
	}
	tok, err := d.fetch(ctx)
	if err != nil {
		return nil, err
	}
	d.tok = tok
	return tok, nil
}

// Invalidate forgets t, a token Adobe refused, so the next call gets a new
// one. A newer token already in place is kept.
func (d *AdobeDCR) Invalidate(t *oauth2.Token) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tok != nil && (t == nil || d.tok.AccessToken == t.AccessToken) {
		d.tok = nil
	}
}

func (d *AdobeDCR) fetch(ctx context.Context) (*oauth2.Token, error) {
	if d.ClientID == "" || d.ClientSecret == "" {
		return nil, errors.New("providers: adobe pass: AdobeDCR needs ClientID and ClientSecret")
	}
	form := url.Values{"client_id": {d.ClientID}, "client_secret": {d.ClientSecret}, "grant_type": {"client_credentials"}}
	endpoint := strings.TrimSuffix(or(d.BaseURL, AdobeProduction), "/") + "/o/client/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("providers: adobe pass: token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if d.DeviceInfo != "" {
		req.Header.Set("X-Device-Info", adobeDeviceInfo(d.DeviceInfo))
	}
	client := d.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("providers: adobe pass: token: %w", err)
	}
	defer resp.Body.Close()
	body, err := answer.Read(resp, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("providers: adobe pass: token: %w", err)
	}
	var got struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
	}
	json.Unmarshal(body, &got)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("providers: adobe pass: token endpoint answered %d %s", resp.StatusCode, answer.Code(got.Error))
	}
	if got.AccessToken == "" {
		return nil, errors.New("providers: adobe pass: token endpoint sent no access_token")
	}
	tok := &oauth2.Token{AccessToken: got.AccessToken, TokenType: "Bearer"}
	if got.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(got.ExpiresIn) * time.Second)
	}
	return tok, nil
}
