package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// TestEndMatchingByID: a match by a session's ID ends that session, with
// or without At (an ID is never reused), and no other.
func TestEndMatchingByID(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	s := newServerStore(t, newMemory(t, clock.Now), clock.Now)
	b, d := saveNew(t, s, clock.Now(), "alice", "sid-1")
	other, _ := saveNew(t, s, clock.Now(), "alice", "sid-1")
	if err := s.EndMatching(context.Background(), session.Match{ID: d.ID}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(b.Request("/")); err != nil || got != nil {
		t.Errorf("the session ended by its ID = %v, %v; want none", got, err)
	}
	if got, _ := s.Load(other.Request("/")); got == nil {
		t.Error("another session of the same sid was ended")
	}
}
