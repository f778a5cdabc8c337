package middleware

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// An ErrorHandler that logs the error it gets must not log what the
// provider wrote: Error() says what describe says, never the body.
func TestErrorTextHoldsNoProviderBody(t *testing.T) {
	body := `{"error":"invalid_grant","error_description":"refresh token rt-SECRET of alice@example.com was revoked"}`
	re := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, Body: []byte(body), ErrorCode: "invalid_grant",
		ErrorDescription: "refresh token rt-SECRET of alice@example.com was revoked"}
	e := newError(http.StatusBadGateway, "provider_error", "The provider refused.", re)
	got := e.Error()
	for _, secret := range []string{"rt-SECRET", "alice@example.com", "error_description"} {
		if strings.Contains(got, secret) {
			t.Fatalf("Error() holds %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "invalid_grant") || !errors.Is(e, re) {
		t.Fatalf("Error() lost the code or the cause: %s", got)
	}
}
