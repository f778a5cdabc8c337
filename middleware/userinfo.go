package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/endsession/endsession/internal/answer"
	"github.com/endsession/endsession/providers"
)

// fetchUserInfo asks the provider's userinfo endpoint about the user tok
// was issued for, and returns the claims of its answer: a JSON object, or
// a JWT signed with the provider's keys (OpenID Connect Core §5.3.2). The
// answer is read within [answer.MaxSize]; a failure is summarised by its
// status and OAuth error code, never its body.
func (m *Middleware) fetchUserInfo(ctx context.Context, resolved *providers.Resolved, tok *oauth2.Token) (map[string]json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resolved.Endpoints.UserInfoURL, nil)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req)
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	defer resp.Body.Close()
	body, err := answer.Read(resp, answer.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answer.Failed("userinfo", resp, body)
	}
	if t, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); t == "application/jwt" {
		if body, err = resolved.KeySet.VerifySignature(ctx, string(body)); err != nil {
			return nil, fmt.Errorf("userinfo: a signed answer not signed by the provider: %w", err)
		}
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(body, &claims); err != nil || claims == nil {
		// The decoder's message may quote the provider's text.
		return nil, errors.New("userinfo: the answer is not a JSON object")
	}
	return claims, nil
}
