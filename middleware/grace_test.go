package middleware

import (
	"context"
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
	if strings.Contains(a, "refresh-token") || strings.Contains(a, "s1") || len(a) != 65 || groupOf(a) != sessionGroup("s1") {
		t.Fatalf("spent key %q", a)
	}
	if a == spentKey(&session.Data{ID: "s2", RefreshToken: "refresh-token-1"}) ||
		a == spentKey(&session.Data{ID: "s1", RefreshToken: "refresh-token-2"}) {
		t.Fatal("two sessions or two tokens share a key")
	}
}

// A session's end drops its refresh results at once, in memory and where
// they are shared, and leaves the other sessions' alone.
func TestSessionEndForgetsItsRefreshResults(t *testing.T) {
	shared := &forgettingLocker{}
	m := newTestMiddleware(t, &fakeStore{}, Config{Locker: shared})
	now := time.Now()
	s1 := &session.Data{ID: "s1", RefreshToken: "rt-1"}
	s1b := &session.Data{ID: "s1", RefreshToken: "rt-2"}
	s2 := &session.Data{ID: "s2", RefreshToken: "rt-1"}
	for _, d := range []*session.Data{s1, s1b, s2} {
		m.remembered.put(spentKey(d), &session.Data{ID: d.ID, AccessToken: "at-new"}, now)
	}
	var rep LogoutReport
	m.erase(context.Background(), eventFor(ReasonUser, &session.Data{ID: "s1"}), &rep)
	if m.remembered.get(spentKey(s1), now) != nil || m.remembered.get(spentKey(s1b), now) != nil {
		t.Fatal("the ended session's refreshed tokens are still remembered")
	}
	if m.remembered.get(spentKey(s2), now) == nil {
		t.Fatal("another session's result was forgotten")
	}
	if len(shared.forgotten) != 1 || shared.forgotten[0] != sessionGroup("s1") {
		t.Fatalf("the shared results were asked to forget %v", shared.forgotten)
	}
	// The groups lapse with their results.
	m.remembered.get("x", now.Add(RefreshGrace+time.Second))
	if len(m.remembered.groups) != 0 || len(m.remembered.results) != 0 {
		t.Fatalf("%d groups and %d results kept past the window", len(m.remembered.groups), len(m.remembered.results))
	}
}

type forgettingLocker struct{ forgotten []string }

func (l *forgettingLocker) Lock(context.Context, string, time.Duration) (func(), error) {
	return func() {}, nil
}
func (l *forgettingLocker) Remember(context.Context, string, []byte, time.Duration) error { return nil }
func (l *forgettingLocker) Recall(context.Context, string) ([]byte, error)                { return nil, nil }
func (l *forgettingLocker) Forget(_ context.Context, group string) error {
	l.forgotten = append(l.forgotten, group)
	return nil
}
