package redisstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/middleware"
	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
)

// Sessions in Redis, shared by every replica of the application: a
// logout or back-channel logout on one replica ends the session on all.
func ExampleNewBackend() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "localhost:6379",
		ContextTimeoutEnabled: true, // lets Options.Timeout bound every call
	})
	backend, err := redisstore.NewBackend(rdb, redisstore.Options{Timeout: 500 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	pair, err := session.ParseKeyPair(os.Getenv("SESSION_HASH_KEY"), os.Getenv("SESSION_BLOCK_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	keys := []session.KeyPair{pair}
	store, err := session.NewServerStore(session.ServerOptions{Backend: backend, Keys: keys, Secure: true})
	if err != nil {
		log.Fatal(err)
	}
	_ = middleware.Config{
		AppURL: "https://app.example.com",
		Keys:   keys,
		Store:  store,
		// Providers: ...
	}
}

// Sessions in cookies, with back-channel logouts shared by every replica.
func ExampleNewRevocations() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	revocations, err := redisstore.NewRevocations(rdb, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	pair, err := session.ParseKeyPair(os.Getenv("SESSION_HASH_KEY"), os.Getenv("SESSION_BLOCK_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	keys := []session.KeyPair{pair}
	store, err := session.NewCookieStore(session.CookieOptions{Keys: keys, Secure: true, Revocations: revocations})
	if err != nil {
		log.Fatal(err)
	}
	_ = middleware.Config{AppURL: "https://app.example.com", Keys: keys, Store: store}
}

// One replica at a time refreshes a user's tokens.
func ExampleLocker_Lock() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	locks, err := redisstore.NewLocker(rdb, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lock, err := locks.Lock(ctx, "refresh:"+"session-id", 5*time.Second)
	if err != nil {
		log.Print(err) // another replica is refreshing, or Redis is down
		return
	}
	defer lock.Release(ctx)
	// Reload the session: the previous holder may have refreshed it
	// already. Refresh only if still needed, and save.
}
