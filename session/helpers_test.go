package session_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

func testKeys(seeds ...byte) []session.KeyPair {
	keys := make([]session.KeyPair, len(seeds))
	for i, s := range seeds {
		keys[i] = session.KeyPair{HashKey: bytes.Repeat([]byte{s}, 32), BlockKey: bytes.Repeat([]byte{s + 1}, 32)}
	}
	return keys
}

func saveNew(t testing.TB, s session.Store, now time.Time, subject, sid string) (*storetest.Browser, *session.Data) {
	t.Helper()
	b := storetest.NewBrowser()
	d := storetest.NewData(subject, sid, now)
	rec := httptest.NewRecorder()
	if err := s.Save(rec, b.Request("/"), d); err != nil {
		t.Fatalf("Save: %v", err)
	}
	b.Apply(rec)
	return b, d
}

func cookieValue(t testing.TB, b *storetest.Browser, name string) string {
	t.Helper()
	for _, c := range b.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("no cookie %q", name)
	return ""
}

func requestWith(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}
