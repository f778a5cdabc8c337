package session

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNewCookieStoreRejectsMaxSizeOverTheChunkLimit(t *testing.T) {
	limit := maxChunks * chunkSize
	if _, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, MaxSize: limit}); err != nil {
		t.Fatalf("MaxSize at the limit (%d): %v", limit, err)
	}
	_, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, MaxSize: limit + 1})
	if err == nil || !strings.Contains(err.Error(), "MaxSize") {
		t.Fatalf("MaxSize %d, over %d chunks: err = %v; want an error naming MaxSize", limit+1, maxChunks, err)
	}
}

func TestCookieStoreLoadsTheLargestSessionMaxSizeAllows(t *testing.T) {
	s, err := NewCookieStore(CookieOptions{Keys: []KeyPair{testKey1}, MaxSize: maxChunks * chunkSize, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	// About 14 chunks once encrypted and base64-encoded.
	cookies := saved(t, s, sampleData(30<<10))
	if len(cookies) < 12 {
		t.Fatalf("want a session of many chunks, got %d", len(cookies))
	}
	if d, err := s.Load(requestWith(cookies...)); err != nil || d == nil {
		t.Fatalf("a %d-chunk session did not load: %v, %v", len(cookies), d, err)
	}
}

func TestChunkIndexTakesPlainDigitsOnly(t *testing.T) {
	for name, want := range map[string]int{
		"endsession": 0, "endsession.1": 1, "endsession.15": 15,
		"endsession.+1": -1, "endsession.-1": -1, "endsession.01": -1, "endsession.0": -1,
		"endsession. 1": -1, "endsession.1a": -1, "endsession.": -1, "endsession.x": -1,
		"endsession.123": -1, "endsessionx1": -1,
	} {
		if got := chunkIndex("endsession", name); got != want {
			t.Errorf("chunkIndex(%q) = %d, want %d", name, got, want)
		}
	}
	// A chunk planted as "+1" is not taken for chunk 1.
	s := newTestStore(t, testKey1)
	cookies := saved(t, s, sampleData(3<<10))
	if len(cookies) != 2 {
		t.Fatalf("want 2 chunks, got %d", len(cookies))
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookies[0].Name+"="+cookies[0].Value+"; "+cookies[0].Name+".+1="+cookies[1].Value)
	if d, _ := s.Load(r); d != nil {
		t.Fatal("a chunk named endsession.+1 was read as chunk 1")
	}
}
