package middleware

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

func TestDescribeIsBoundedAndKeepsOnlyCodes(t *testing.T) {
	long := errors.New("keys: " + strings.Repeat("é provider text ", 10000))
	const bound = 512
	if got := describe(long); len(got) > bound+len("…") || !utf8.ValidString(got) {
		t.Errorf("describe of a %d-byte error: %d bytes (valid UTF-8 %v); want at most %d", len(long.Error()), len(got), utf8.ValidString(got), bound)
	}
	re := &oauth2.RetrieveError{
		Response:  &http.Response{StatusCode: http.StatusBadRequest},
		Body:      []byte(`{"error":"invalid_request","error_description":"alice@example.com"}`),
		ErrorCode: "invalid_request alice@example.com",
	}
	if got := describe(re); got != "token endpoint answered 400" {
		t.Errorf("describe of a token error with a malformed code = %q", got)
	}
	re.ErrorCode = "invalid_request"
	if got := describe(re); got != "token endpoint answered 400 invalid_request" {
		t.Errorf("describe of a token error = %q", got)
	}
}
