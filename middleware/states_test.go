package middleware

import (
	"strconv"
	"testing"
	"time"
)

func TestUsedStatesAreSingleUseAndBounded(t *testing.T) {
	u := newUsedStates(time.Minute)
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	if !u.use("a", now) || u.use("a", now.Add(time.Second)) {
		t.Fatal("a state was accepted twice, or not at all")
	}
	// Past the login timeout the state is forgotten: its flow cookie has
	// expired by then, so it can no longer be presented anyway.
	if !u.use("b", now.Add(2*time.Minute)) || len(u.seen) != 1 {
		t.Fatalf("expired states kept: %d", len(u.seen))
	}
	// A flood keeps at most maxUsedStates entries.
	for i := range maxUsedStates + 10 {
		u.use(strconv.Itoa(i), now.Add(2*time.Minute))
	}
	if len(u.seen) != maxUsedStates || len(u.order) != maxUsedStates {
		t.Fatalf("%d states kept (%d in order), want %d", len(u.seen), len(u.order), maxUsedStates)
	}
	if u.use(strconv.Itoa(maxUsedStates+9), now.Add(2*time.Minute)) {
		t.Fatal("the newest state was forgotten")
	}
}
