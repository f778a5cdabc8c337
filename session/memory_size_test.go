package session_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// A site with more users than the old default of 10,000 entries: with the
// default options every live session stays, none is signed out.
func TestMemoryBackendDefaultKeepsLiveSessions(t *testing.T) {
	var logs bytes.Buffer
	b := session.NewMemoryBackend(session.MemoryOptions{SweepInterval: -1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	defer b.Close()
	const n = 25_000
	for i := range n {
		put(t, b, "s"+strconv.Itoa(i), time.Hour, "k"+strconv.Itoa(i))
	}
	if b.Len() != n {
		t.Fatalf("Len = %d after %d live sessions; want every one kept", b.Len(), n)
	}
	for _, i := range []int{0, 1, 9_999, 10_000, n - 1} {
		if !has(b, "s"+strconv.Itoa(i)) {
			t.Errorf("session %d was evicted", i)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("logged %q with nothing evicted", logs.String())
	}
}

// sized returns a session whose strings take about n bytes.
func sized(id string, n int) *session.Data {
	return &session.Data{ID: id, AccessToken: strings.Repeat("a", n)}
}

// Past MaxBytes the session that expires soonest is evicted, by memory:
// large sessions take more room than small ones. Evicting a live session
// signs its user out, and is logged (without any of the session's data);
// removing expired ones to make room is not.
func TestMemoryBackendEvictsByMemoryAndLogs(t *testing.T) {
	clock := storetest.NewClock(time.Now())
	var logs bytes.Buffer
	b := session.NewMemoryBackend(session.MemoryOptions{
		MaxBytes: 100 << 10, SweepInterval: -1, Now: clock.Now,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	defer b.Close()
	// 10 KB sessions: about 9 fit in 100 KiB with their overhead.
	for i := range 9 {
		if err := b.SetData(ctx, "big"+strconv.Itoa(i), sized("big"+strconv.Itoa(i), 10<<10), time.Duration(i+1)*time.Minute, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if b.Len() != 9 || logs.Len() != 0 {
		t.Fatalf("Len = %d, logs %q; want 9 sessions, no eviction", b.Len(), logs.String())
	}
	// Two expire; a new session takes their room without a warning.
	clock.Advance(2 * time.Minute)
	for i := range 2 {
		if err := b.SetData(ctx, "new"+strconv.Itoa(i), sized("new"+strconv.Itoa(i), 10<<10), time.Hour, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if has(b, "big0") || has(b, "big1") || !has(b, "big2") {
		t.Fatal("the expired sessions were not the ones removed")
	}
	if logs.Len() != 0 {
		t.Fatalf("removing expired sessions logged %q", logs.String())
	}
	// A 30 KB session: three live ones, the soonest to expire, go.
	if err := b.SetData(ctx, "huge", sized("huge", 30<<10), time.Hour, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"big2", "big3", "big4"} {
		if has(b, id) {
			t.Errorf("%s was kept past MaxBytes", id)
		}
	}
	for _, id := range []string{"big5", "big8", "new0", "new1", "huge"} {
		if !has(b, id) {
			t.Errorf("%s was evicted", id)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(bytes.SplitN(logs.Bytes(), []byte("\n"), 2)[0]), &rec); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if rec["level"] != "WARN" || rec["event"] != "session.evict" || rec["evicted"] != float64(3) {
		t.Fatalf("log record %v; want a warning that 3 live sessions were evicted", rec)
	}
	if strings.Contains(logs.String(), "aaaa") || strings.Contains(logs.String(), "big2") {
		t.Fatalf("the log names a session or its data: %q", logs.String())
	}
}
