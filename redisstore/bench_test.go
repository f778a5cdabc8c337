package redisstore_test

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// BenchmarkBackend measures what a request costs the Backend, from many
// goroutines at once (-cpu sets how many: GOMAXPROCS × 16), on a single
// server and on a cluster of three masters: reading a session (each
// authenticated request), writing a new one (a login), saving one again
// (an idle timeout slid), taking one (a logout).
func BenchmarkBackend(b *testing.B) {
	backends := []struct {
		name   string
		client func(b *testing.B) redis.UniversalClient
	}{
		{"single", func(b *testing.B) redis.UniversalClient { return startRedis(b).Client() }},
		{"cluster", func(b *testing.B) redis.UniversalClient { return clusterClient(b, sharedCluster(b)) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			c := be.client(b)
			p := prefix()
			// A loaded machine is slow, not down.
			back := newBackend(b, c, redisstore.Options{Prefix: p, Timeout: 10 * time.Second})
			d := storetest.NewData("alice", "sid-1", time.Now())
			raw, err := d.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			index := func(i int64) []string {
				n := strconv.FormatInt(i, 10)
				return []string{"sid|" + storetest.Issuer + "|sid-" + n, "sub|" + storetest.Issuer + "|user" + n}
			}
			// A thousand sessions to read and save.
			const pool = 1000
			for i := range int64(pool) {
				if err := back.Set(ctx, "s"+strconv.FormatInt(i, 10), raw, time.Hour, index(i), false); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			run := func(name string, op func(i int64) error) {
				b.Run(name, func(b *testing.B) {
					if name == "Logout" { // b.N sessions to take
						for i := range int64(b.N) {
							if err := back.Set(ctx, "out"+strconv.FormatInt(i, 10), raw, time.Hour, index(i), false); err != nil {
								b.Fatal(err)
							}
						}
						next.Store(-1)
						b.ResetTimer()
					}
					b.SetParallelism(16)
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := op(next.Add(1)); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
			}
			run("Get", func(i int64) error {
				_, err := back.Get(ctx, "s"+strconv.FormatInt(i%pool, 10))
				return err
			})
			run("Save", func(i int64) error {
				j := i % pool
				return back.Set(ctx, "s"+strconv.FormatInt(j, 10), raw, time.Hour, index(j), true)
			})
			run("Login", func(i int64) error {
				return back.Set(ctx, "n"+strconv.FormatInt(i, 10), raw, time.Hour, index(i), false)
			})
			run("Logout", func(i int64) error {
				d, err := back.Take(ctx, "out"+strconv.FormatInt(i, 10))
				if err == nil && d == nil {
					err = errors.New("no session to take")
				}
				return err
			})
			revs, err := redisstore.NewRevocations(c, redisstore.Options{Prefix: p, Timeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			run("Revoked", func(i int64) error {
				_, err := revs.Revoked(ctx, &session.Data{ID: "s" + strconv.FormatInt(i, 10), Issuer: storetest.Issuer, SID: "x", Subject: "y", Created: time.Now()})
				return err
			})
		})
	}
}
