package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The jar writes the very header http.SetCookie writes for the stores'
// values.
func TestCookieJarSetWritesWhatSetCookieWrites(t *testing.T) {
	codecs, _ := codecsFor([]KeyPair{testKey1})
	raw, _ := sampleData(3 << 10).MarshalBinary()
	encoded, err := codecs[0].Encode("endsession", raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, secure := range []bool{false, true} {
		j := newCookieJar("", secure)
		for _, tc := range []struct {
			name, value string
			maxAge      int
		}{
			{j.name, encoded[:chunkSize], 3600},
			{j.name + ".1", encoded[chunkSize:], 1},
			{j.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.0123456789-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", 86400},
			{"bad name", "v", 60},
			{j.name, "v", 0},
			{j.name, "v", -1},
		} {
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			j.set(got, tc.name, tc.value, tc.maxAge)
			http.SetCookie(want, &http.Cookie{Name: tc.name, Value: tc.value, Path: "/", MaxAge: tc.maxAge,
				HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
			g, w := got.Header()["Set-Cookie"], want.Header()["Set-Cookie"]
			if len(g) != len(w) || len(g) == 1 && g[0] != w[0] {
				t.Errorf("set(%q, %d bytes, %d), secure %v:\n got %q\nwant %q", tc.name, len(tc.value), tc.maxAge, secure, g, w)
			}
		}
	}
}
