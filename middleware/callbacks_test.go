package middleware

import (
	"bytes"
	"strings"
	"testing"

	"github.com/endsession/endsession/providers"
	"github.com/endsession/endsession/session"
)

func TestSeveralProvidersNeedPathSafeNames(t *testing.T) {
	cfg := func(names ...string) Config {
		c := Config{
			AppURL: "https://app.example",
			Keys:   []session.KeyPair{{HashKey: bytes.Repeat([]byte{1}, 32), BlockKey: bytes.Repeat([]byte{2}, 32)}},
		}
		for _, n := range names {
			c.Providers = append(c.Providers, providers.Provider{Name: n, Issuer: "https://" + "op.example/" + n, ClientID: "c", ClientSecret: "s"})
		}
		return c
	}
	if _, err := New(cfg("only one/with a slash")); err != nil {
		t.Errorf("one provider, any name: %v", err)
	}
	if _, err := New(cfg("dev", "france-travail_1.x")); err != nil {
		t.Errorf("two path-safe names: %v", err)
	}
	for _, bad := range []string{"a/b", "a b", "..", "é"} {
		if _, err := New(cfg("dev", bad)); err == nil || !strings.Contains(err.Error(), "/callback/NAME") {
			t.Errorf("provider name %q with another provider: err = %v; want one naming the callback", bad, err)
		}
	}
}
