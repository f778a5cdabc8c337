package session_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/endsession/endsession/session"
)

// A server-side store for an application served by one process: the
// browser keeps only a signed identifier, the session stays in memory.
// Give the store to the middleware as Config.Store.
func ExampleNewServerStore() {
	hashKey := make([]byte, 32)
	rand.Read(hashKey)

	backend := session.NewMemoryBackend(session.MemoryOptions{MaxEntries: 50000})
	defer backend.Close()
	store, err := session.NewServerStore(session.ServerOptions{
		Backend: backend,
		Keys:    []session.KeyPair{{HashKey: hashKey}},
		Secure:  true, // served over https
	})
	if err != nil {
		log.Fatal(err)
	}

	// What the middleware does at login and on the next request.
	d := &session.Data{Issuer: "https://op.example", Subject: "alice", Expires: time.Now().Add(time.Hour)}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest("GET", "https://app.example/", nil), d); err != nil {
		log.Fatal(err)
	}
	next := httptest.NewRequest("GET", "https://app.example/", nil)
	next.AddCookie(rec.Result().Cookies()[0])
	loaded, err := store.Load(next)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.CookieName(), loaded.Subject, backend.Len())
	// Output: __Host-endsession_id alice 1
}
