package session

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMemoryRevocationsBudgets(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryRevocations(RevocationLimits{Logouts: 3, ProviderLogouts: 5})
	l.now = func() time.Time { return now }
	created := now.Add(-time.Minute)
	for i := range 3 {
		if err := l.Revoke(ctx, Match{ID: "s" + strconv.Itoa(i), At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// A flood of provider logouts with made-up sids stays within its own
	// budget and evicts no logout.
	for i := range 1000 {
		if err := l.Revoke(ctx, Match{Issuer: "https://op", SID: "flood" + strconv.Itoa(i), At: now, Until: now.Add(7 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Len(); n != 3+5 {
		t.Errorf("%d entries after the flood, want 8", n)
	}
	for i := range 3 {
		d := &Data{ID: "s" + strconv.Itoa(i), Issuer: "https://op", SID: "x", Created: created}
		if ok, _ := l.Revoked(ctx, d); !ok {
			t.Errorf("logout %d evicted by the flood", i)
		}
	}
	// Past the cap, the entry that lapses soonest goes.
	if err := l.Revoke(ctx, Match{ID: "s3", At: now, Until: now.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := l.Revoked(ctx, &Data{ID: "s3", Created: created}); !ok {
		t.Error("the newest logout is not recorded")
	}
	if n := l.Len(); n != 8 {
		t.Errorf("%d entries, want 8", n)
	}
	// The flood's sids end sessions that have them, created before.
	if ok, _ := l.Revoked(ctx, &Data{ID: "z", Issuer: "https://op", SID: "flood999", Created: created}); !ok {
		t.Error("the last provider logout is not recorded")
	}
	if ok, _ := l.Revoked(ctx, &Data{ID: "z", Issuer: "https://op", SID: "flood999", Created: now.Add(time.Second)}); ok {
		t.Error("a session created after the provider logout is revoked")
	}
	// Lapsed entries are dropped by the next Revoke.
	now = now.Add(3 * time.Hour)
	if err := l.Revoke(ctx, Match{ID: "s4", At: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n := l.Len(); n != 1+5 {
		t.Errorf("%d entries after the logouts lapsed, want 6", n)
	}
}

func TestMemoryRevocationsRefuse(t *testing.T) {
	ctx := context.Background()
	l := NewMemoryRevocations(RevocationLimits{})
	long := strings.Repeat("s", MaxMatchLen+1)
	now := time.Now()
	for _, m := range []Match{
		{Issuer: "https://op", SID: long, At: now, Until: now.Add(time.Hour)},
		{Issuer: "https://op", Subject: long, At: now, Until: now.Add(time.Hour)},
		{ID: long, At: now, Until: now.Add(time.Hour)},
		{SID: "sid", At: now, Until: now.Add(time.Hour)},
		{Issuer: "https://op", At: now, Until: now.Add(time.Hour)},
	} {
		if err := l.Revoke(ctx, m); !errors.Is(err, ErrInvalid) {
			t.Errorf("Revoke(%.40v) = %v, want ErrInvalid", m, err)
		}
	}
	if err := l.Revoke(ctx, Match{Issuer: "https://op", SID: "old", At: now, Until: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if n := l.Len(); n != 0 {
		t.Errorf("%d entries kept, want 0", n)
	}
}

// TestLoggedOutCoversEveryCopy: the logout of a session is kept until the
// latest time a copy of its cookie, rolled at any time before the logout,
// could be used.
func TestLoggedOutCoversEveryCopy(t *testing.T) {
	l := Lifetime{Idle: time.Hour, Absolute: 10 * time.Hour}
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d := &Data{ID: "a"}
	l.Stamp(d, created)
	logout := created.Add(30 * time.Minute)
	if m := loggedOut(d, logout); !m.Until.Equal(logout.Add(time.Hour)) {
		t.Errorf("Until = %v, want %v", m.Until, logout.Add(time.Hour))
	}
	// Near the absolute end, the session's own Expires bounds every copy.
	l.Stamp(d, created.Add(9*time.Hour+30*time.Minute))
	logout = created.Add(9*time.Hour + 40*time.Minute)
	if m := loggedOut(d, logout); m.Until.Before(created.Add(10 * time.Hour)) {
		t.Errorf("Until = %v, before the absolute end", m.Until)
	}
}

// A full budget that must drop a logout before it lapses says so in the
// log, at most once a minute, with how many it dropped: the sessions
// they ended open again, and the operator must raise the limit.
func TestMemoryRevocationsWarnWhenFullBudgetDropsLiveEntries(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var logs strings.Builder
	l := NewMemoryRevocations(RevocationLimits{ProviderLogouts: 2})
	l.now = func() time.Time { return now }
	l.drops.log = slog.New(slog.NewTextHandler(&logs, nil))
	for i := range 5 {
		if err := l.Revoke(ctx, Match{Issuer: "https://op", SID: "s" + strconv.Itoa(i), At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "event=session.revocation_drop"); n != 1 {
		t.Fatalf("%d warnings after 3 drops within a minute, want 1:\n%s", n, logs.String())
	}
	for _, want := range []string{"level=WARN", "budget=provider", "dropped=1", "limit=ProviderLogouts", "cap=2"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the warning lacks %q:\n%s", want, logs.String())
		}
	}
	// A minute later, the next drop reports the ones since.
	now = now.Add(time.Minute)
	if err := l.Revoke(ctx, Match{Issuer: "https://op", SID: "s5", At: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "dropped=3") {
		t.Errorf("the second warning does not count the drops since the first:\n%s", logs.String())
	}
	// Entries that lapsed are dropped without a word: of the three new
	// ones, the third drops the first, live.
	logs.Reset()
	now = now.Add(3 * time.Hour)
	for i := range 3 {
		if err := l.Revoke(ctx, Match{Issuer: "https://op", SID: "t" + strconv.Itoa(i), At: now, Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Count(logs.String(), "revocation_drop") != 1 || !strings.Contains(logs.String(), "dropped=1 ") {
		t.Errorf("want one warning of one dropped entry, the lapsed ones not counted:\n%s", logs.String())
	}
}
