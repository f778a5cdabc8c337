package middleware

import (
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// The results kept in memory lapse after RefreshGrace, and at most
// maxRemembered of them are kept.
func TestRefreshMemoryIsBounded(t *testing.T) {
	var rm refreshMemory
	now := time.Now()
	for i := range maxRemembered + 100 {
		rm.put(spentKey(&session.Data{ID: "s", RefreshToken: string(rune(i))}), &session.Data{ID: "s"}, now)
	}
	if n := len(rm.results); n > maxRemembered || len(rm.order) != n {
		t.Fatalf("%d results kept (%d in order), cap %d", n, len(rm.order), maxRemembered)
	}
	key := spentKey(&session.Data{ID: "s", RefreshToken: "r"})
	rm.put(key, &session.Data{ID: "s"}, now)
	if rm.get(key, now.Add(RefreshGrace)) == nil {
		t.Fatal("a result was forgotten within the grace window")
	}
	if rm.get(key, now.Add(RefreshGrace+time.Second)) != nil || len(rm.results) != 0 {
		t.Fatalf("results kept past the grace window: %d", len(rm.results))
	}
}

func TestSpentKeyHidesTheToken(t *testing.T) {
	a := spentKey(&session.Data{ID: "s1", RefreshToken: "refresh-token-1"})
	if strings.Contains(a, "refresh-token") || strings.Contains(a, "s1") || len(a) != 32 {
		t.Fatalf("spent key %q", a)
	}
	if a == spentKey(&session.Data{ID: "s2", RefreshToken: "refresh-token-1"}) ||
		a == spentKey(&session.Data{ID: "s1", RefreshToken: "refresh-token-2"}) {
		t.Fatal("two sessions or two tokens share a key")
	}
}
