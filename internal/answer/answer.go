// Package answer reads what a provider answers to a server-to-server call:
// never more than a size limit, and, when the call failed, only a summary
// fit for logs and reports: the status code and the OAuth error code. The
// body, the reason phrase of the status line and every other text of the
// provider's are left out: a provider may echo tokens and personal data.
package answer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// MaxSize is the most bytes read of an answer: discovery documents, key
// sets, token and userinfo answers are all far smaller.
const MaxSize = 1 << 20

// ErrTooLarge is the error of an answer over its size limit.
var ErrTooLarge = errors.New("the provider's answer is too large")

// Read returns resp's body, or an error wrapping [ErrTooLarge] when it is
// larger than limit bytes. It reads at most limit+1 bytes.
func Read(resp *http.Response, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the provider's answer: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// Failure summarises an answer that was not a success.
type Failure struct {
	// Call names what was asked, such as "userinfo".
	Call string
	// Status is the HTTP status code.
	Status int
	// Code is the OAuth error code, when the answer held a well-formed
	// one, or "".
	Code string
}

// Error says which call failed and how, without the provider's text.
func (f *Failure) Error() string {
	if f.Code == "" {
		return fmt.Sprintf("%s answered %d", f.Call, f.Status)
	}
	return fmt.Sprintf("%s answered %d %s", f.Call, f.Status, f.Code)
}

// Failed returns the summary of resp, whose body is body: its status and
// the OAuth error code of a JSON body's "error" member or of the
// WWW-Authenticate header's error attribute (RFC 6750 §3).
func Failed(call string, resp *http.Response, body []byte) *Failure {
	f := &Failure{Call: call, Status: resp.StatusCode}
	if t, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); t == "application/json" || strings.HasSuffix(t, "+json") {
		var e struct {
			Error any `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil {
			if s, ok := e.Error.(string); ok {
				f.Code = Code(s)
			}
		}
	}
	if f.Code == "" {
		f.Code = bearerError(resp.Header.Get("WWW-Authenticate"))
	}
	return f
}

// bearerError returns the error attribute of a Bearer challenge, when it
// is a well-formed code.
func bearerError(challenge string) string {
	scheme, params, ok := strings.Cut(strings.TrimSpace(challenge), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	for _, p := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(k, "error") {
			return Code(strings.Trim(v, `"`))
		}
	}
	return ""
}

// Code returns code when it looks like an OAuth error code (at most 64
// lower-case letters, digits and underscores, as every registered code
// is), and "" otherwise.
func Code(code string) string {
	if len(code) == 0 || len(code) > 64 {
		return ""
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return ""
		}
	}
	return code
}

// maxIdentifier bounds an identifier quoted from a provider's answer.
const maxIdentifier = 256

// Identifier quotes an identifier a provider sent, such as an issuer, for
// a log line: printable ASCII of at most 256 bytes, quoted; anything else
// is summarised, never copied.
func Identifier(s string) string {
	if len(s) > maxIdentifier {
		return "(a value too long to show)"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "(a value with characters not shown)"
		}
	}
	return strconv.Quote(s)
}
