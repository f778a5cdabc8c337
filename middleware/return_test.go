package middleware

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSafeReturn(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"/", true},
		{"/profile", true},
		{"/profile?tab=1#x", true},
		{"/a/b%20c", true},
		{"", false},
		{"//evil.example", false},
		{"/\\evil.example", false},
		{"\\/evil.example", false},
		{"https:evil.example", false},
		{"https://evil.example", false},
		{"https://app@evil.example", false},
		{"/%2F%2Fevil.example", false},
		{"/%2F/evil.example", false},
		{"/%5Cevil.example", false},
		{"javascript:alert(1)", false},
		{"data:text/html,x", false},
		{"java\tscript:alert(1)", false},
		{"/\t/evil.example", false},
		{"/\n/evil.example", false},
		{"/\r\nLocation: https://evil.example", false},
		{"evil.example", false},
		{"/" + strings.Repeat("a", 3000), false},
		{"/\x00", false},
	}
	for _, tc := range cases {
		got, ok := safeReturn(tc.in)
		if ok != tc.ok || (ok && got != tc.in) || (!ok && got != "") {
			t.Errorf("safeReturn(%q) = %q, %v; want ok=%v", tc.in, got, ok, tc.ok)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	m := &Middleware{appOrigin: "https://app.example"}
	cases := []struct {
		name, site, origin string
		want               bool
	}{
		{"same-origin fetch metadata", "same-origin", "", true},
		{"cross-site fetch metadata", "cross-site", "https://app.example", false},
		{"same-site is not same-origin", "same-site", "", false},
		{"user typed the URL", "none", "", false},
		{"matching Origin", "", "https://app.example", true},
		{"other Origin", "", "https://evil.example", false},
		{"null Origin", "", "null", false},
		{"no provenance", "", "", false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("POST", "/auth/logout", nil)
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if got := m.sameOrigin(r); got != tc.want {
			t.Errorf("%s: sameOrigin = %v, want %v", tc.name, got, tc.want)
		}
	}
}
