package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReplayCache is a [middleware.ReplayCache] in Redis, shared by the
// replicas of an application: a back-channel logout token accepted by one
// replica is refused as a replay by all of them. Each key is a string
// "<prefix>j:<key>" set with SET NX and a TTL up to the token's end.
type ReplayCache struct {
	c    client
	opts Options
}

// NewReplayCache returns a ReplayCache using c, or an error if c or opts
// are not suitable (see [Options.Timeout]).
func NewReplayCache(c redis.UniversalClient, opts Options) (*ReplayCache, error) {
	opts.setDefaults()
	if err := check(c, opts, false); err != nil {
		return nil, err
	}
	return &ReplayCache{c: c, opts: opts}, nil
}

// Seen implements [middleware.ReplayCache] with one SET NX.
func (rc *ReplayCache) Seen(ctx context.Context, key string, until time.Time) (bool, error) {
	ttl := max(until.Sub(rc.opts.Now()), time.Second)
	var fresh bool
	err := call(ctx, rc.c, rc.opts.Timeout, "replay check", func(ctx context.Context) error {
		var err error
		fresh, err = rc.c.SetNX(ctx, rc.opts.Prefix+"j:"+key, "1", ttl).Result()
		return err
	})
	return !fresh, err
}

// Forget removes key, so that a provider's retry of a logout token whose
// sessions could not be ended is accepted.
func (rc *ReplayCache) Forget(ctx context.Context, key string) error {
	return call(ctx, rc.c, rc.opts.Timeout, "replay forget", func(ctx context.Context) error {
		return rc.c.Del(ctx, rc.opts.Prefix+"j:"+key).Err()
	})
}
