package providers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

// hostileAnswers answers every request with status and a body that echoes
// the user, the way a hostile or careless provider might: in the reason
// phrase of the status line and in a large body.
type hostileAnswers struct {
	status int
	size   int
}

const leak = "alice@example.com"

func (h hostileAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	body := `{"error":"server_error","error_description":"` + leak + strings.Repeat(" PADDING", h.size/8) + `"}`
	return &http.Response{
		StatusCode: h.status, Status: http.StatusText(h.status) + " " + leak,
		Header:  http.Header{"Content-Type": {"application/json"}},
		Body:    io.NopCloser(strings.NewReader(body)),
		Request: r,
	}, nil
}

func TestProviderAnswersAreSummarised(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer hostileAnswers
		want   string
	}{
		{"error", hostileAnswers{status: http.StatusInternalServerError, size: 200 << 10}, "answered 500 server_error"},
		{"success of 2 MB", hostileAnswers{status: http.StatusOK, size: 2 << 20}, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &http.Client{Transport: tc.answer}
			check := func(what, text string) {
				t.Helper()
				if strings.Contains(text, leak) || strings.Contains(text, "PADDING") || len(text) > 300 {
					t.Errorf("%s holds the provider's text: %.300s", what, text)
				}
			}
			p := providers.Provider{Name: "op", Issuer: "https://op.example", ClientID: "app"}
			_, err := p.Discover(context.WithValue(context.Background(), oauth2.HTTPClient, client))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("discovery: err = %.300v; want one saying %q", err, tc.want)
			} else {
				check("the discovery error", err.Error())
			}
			for _, v2 := range []bool{false, true} {
				l := providers.AdobePassLogout{Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}), V1: !v2}
				act, err := l.EndSession(context.Background(), &providers.LogoutRequest{
					Device:     &session.Device{ID: "dev", Info: "info", Requestor: "req", MVPD: "mvpd"},
					HTTPClient: client, ReturnURL: "https://app.example/auth/logged-out",
				})
				if err == nil {
					t.Errorf("adobe pass v2=%v: no error", v2)
				} else {
					check("the adobe pass error", err.Error())
				}
				if len(act.Calls) == 0 {
					t.Errorf("adobe pass v2=%v: no call reported", v2)
				}
				check("the adobe pass calls", strings.Join(act.Calls, "\n"))
			}
		})
	}
}
