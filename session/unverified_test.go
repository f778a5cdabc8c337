package session

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// A front-channel flood (matches nobody authenticated) fills a budget of
// its own: a back-channel logout, signed by the provider, stays recorded
// whatever the flood, even when the flood's entries lapse later.
func TestUnverifiedMatchesCannotEvictVerifiedOnes(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryRevocations(RevocationLimits{Logouts: 3, ProviderLogouts: 5, UnverifiedLogouts: 4})
	l.now = func() time.Time { return now }
	created := now.Add(-time.Minute)
	real := Match{Issuer: "https://op", SID: "real", At: now, Until: now.Add(time.Hour)}
	if err := l.Revoke(ctx, real); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		junk := Match{Issuer: "https://op", SID: "junk" + strconv.Itoa(i), At: now, Until: now.Add(7 * 24 * time.Hour), Unverified: true}
		if err := l.Revoke(ctx, junk); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := l.Revoked(ctx, &Data{ID: "a", Issuer: "https://op", SID: "real", Created: created}); !ok {
		t.Fatal("the flood of unverified matches evicted the provider's signed logout")
	}
	if n := l.Len(); n != 1+4 {
		t.Errorf("%d entries, want 5 (1 verified, 4 unverified)", n)
	}
	// An unverified match for a sid a verified one holds changes nothing of
	// its budget; a verified one for a sid only an unverified one held
	// moves it to the verified budget, out of the flood's reach.
	if err := l.Revoke(ctx, Match{Issuer: "https://op", SID: "real", At: now, Until: now.Add(2 * time.Hour), Unverified: true}); err != nil {
		t.Fatal(err)
	}
	if err := l.Revoke(ctx, Match{Issuer: "https://op", SID: "junk999", At: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		l.Revoke(ctx, Match{Issuer: "https://op", SID: "more" + strconv.Itoa(i), At: now, Until: now.Add(7 * 24 * time.Hour), Unverified: true})
	}
	for _, sid := range []string{"real", "junk999"} {
		if ok, _ := l.Revoked(ctx, &Data{ID: "a", Issuer: "https://op", SID: sid, Created: created}); !ok {
			t.Errorf("the verified logout of %s was evicted", sid)
		}
	}
	if n := l.Len(); n != 2+4 {
		t.Errorf("%d entries, want 6 (2 verified, 4 unverified)", n)
	}
}
