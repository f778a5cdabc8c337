package middleware

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
)

// queryNames lists the keys url.Parse(raw).Query() would have.
func TestQueryNamesAgreesWithURLQuery(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"a", "b", "=", "&", ";", "%2F", "%zz", "+", "#", "?", "\x7f", "\x01", ":", "/", "é", "id_token_hint", "state"}
	check := func(raw string) {
		t.Helper()
		var want []string
		if u, err := url.Parse(raw); err == nil {
			for k := range u.Query() {
				want = append(want, k)
			}
		}
		got := queryNames(raw)
		sort.Strings(want)
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Fatalf("queryNames(%q) = %q, want %q", raw, got, want)
		}
	}
	for _, base := range []string{"https://op.example/logout", "https://op.example/logout?x=1", "http://[::1/x", "/relative"} {
		check(base)
		for range 2000 {
			var b strings.Builder
			b.WriteString(base)
			for range rng.IntN(8) {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			check(b.String())
		}
	}
}
