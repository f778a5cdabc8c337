package middleware

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestCorrelationIDReusesRequestIDOrTraceparent(t *testing.T) {
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	cases := []struct {
		name   string
		header map[string]string
		want   string // "" for a new random id
	}{
		{"X-Request-Id", map[string]string{"X-Request-Id": "req-42.a_b"}, "req-42.a_b"},
		{"X-Request-Id before traceparent", map[string]string{"X-Request-Id": "req-42", "Traceparent": "00-" + trace + "-00f067aa0ba902b7-01"}, "req-42"},
		{"traceparent", map[string]string{"Traceparent": "00-" + trace + "-00f067aa0ba902b7-01"}, trace},
		{"a bad X-Request-Id, then traceparent", map[string]string{"X-Request-Id": "a b\nc", "Traceparent": "00-" + trace + "-00f067aa0ba902b7-00"}, trace},
		{"traceparent of a later version", map[string]string{"Traceparent": "01-" + trace + "-00f067aa0ba902b7-01-extra"}, trace},
		{"traceparent with an all-zero trace", map[string]string{"Traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, ""},
		{"traceparent of version ff", map[string]string{"Traceparent": "ff-" + trace + "-00f067aa0ba902b7-01"}, ""},
		{"traceparent in upper case", map[string]string{"Traceparent": "00-" + strings.ToUpper(trace) + "-00f067aa0ba902b7-01"}, ""},
		{"traceparent cut short", map[string]string{"Traceparent": "00-" + trace[:20]}, ""},
		{"X-Request-Id too long", map[string]string{"X-Request-Id": strings.Repeat("a", 65)}, ""},
		{"nothing", nil, ""},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.header {
			h.Set(k, v)
		}
		got := newCorrelationID(h)
		switch {
		case c.want != "" && got != c.want:
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		case c.want == "" && (len(got) != 16 || got == newCorrelationID(h)):
			t.Errorf("%s: %q, want a new random id", c.name, got)
		}
	}
}

func TestDescribeHasNoRawNewlines(t *testing.T) {
	got := describe(errors.New("line one\nline two\r\n\tthree\u2028four\x00"))
	if strings.ContainsAny(got, "\n\r\t\x00\u2028") {
		t.Fatalf("describe kept a control character: %q", got)
	}
	if !strings.Contains(got, "line one") || !strings.Contains(got, "four") {
		t.Fatalf("describe lost the text: %q", got)
	}
}
