package session_test

import (
	"crypto/rand"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/gorilla/sessions"

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

// Keys come from the environment as hex or base64 text; text that is not
// a random key is refused.
func ExampleParseKeyPair() {
	pair, err := session.ParseKeyPair(
		"8f1c0a5e6b2d4f7a9c3e1b0d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c1e3b5d7f9a",
		"3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho=",
	)
	fmt.Println(len(pair.HashKey), len(pair.BlockKey), err)

	_, err = session.ParseKeyPair("my application's secret passphrase", "")
	fmt.Println(err != nil)
	// Output:
	// 32 32 <nil>
	// true
}

// A GorillaStore keeps sessions in any gorilla/sessions store, here files
// on disk. Gorilla stores cap a session at 4096 bytes unless told
// otherwise: a large ID token needs more.
func ExampleNewGorillaStore() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	hashKey := make([]byte, 32)
	rand.Read(hashKey)

	files := sessions.NewFilesystemStore(dir, hashKey)
	files.MaxLength(64 << 10) // room for large ID tokens
	store, err := session.NewGorillaStore(session.GorillaOptions{Store: files, Secure: true})
	if err != nil {
		log.Fatal(err)
	}

	// What the middleware does at login and on the next request.
	d := &session.Data{Issuer: "https://op.example", Subject: "alice", IDToken: strings.Repeat("x", 6000), Expires: time.Now().Add(time.Hour)}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest("GET", "https://app.example/", nil), d); err != nil {
		log.Fatal(err)
	}
	next := httptest.NewRequest("GET", "https://app.example/", nil)
	for _, c := range rec.Result().Cookies() {
		next.AddCookie(c)
	}
	loaded, err := store.Load(next)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Subject, len(loaded.IDToken))
	// Output: alice 6000
}
