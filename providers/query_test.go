package providers

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// WithQuery encodes as url.Values.Encode does, byte for byte.
func TestWithQueryEncodesAsValuesEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aZ09-_.~ +&=?/%#é\x00\xff"
	word := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for _, endpoint := range []string{"https://op.example/logout", "https://op.example/logout?tenant=a"} {
		for range 500 {
			params := url.Values{}
			for range rng.IntN(5) {
				k := word()
				for range 1 + rng.IntN(2) {
					params.Add(k, word())
				}
			}
			want := endpoint
			if len(params) > 0 {
				sep := "?"
				if strings.Contains(endpoint, "?") {
					sep = "&"
				}
				want += sep + params.Encode()
			}
			if got := WithQuery(endpoint, params); got != want {
				t.Fatalf("WithQuery(%q, %v)\n = %q\nwant %q", endpoint, params, got, want)
			}
		}
	}
}
