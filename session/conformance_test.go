package session_test

import (
	"testing"
	"time"

	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

func TestCookieStoreConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) session.Store {
			s, err := session.NewCookieStore(session.CookieOptions{Keys: testKeys(1), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	})
}
