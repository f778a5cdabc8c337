package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/session"
)

var _ session.TakeBackend = (*Backend)(nil)

// takeScript reads a session and deletes it and its tags, as GET then
// deleteScript would.
//
// KEYS: session, tags. ARGV: the id.
var takeScript = redis.NewScript(`
local data = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do
	redis.call('SREM', k, ARGV[1])
end
redis.call('DEL', KEYS[2])
return data
`)

// Take implements [session.TakeBackend] with one script call, so that
// logout makes one round trip to Redis instead of two (on Redis Cluster,
// two instead of three: the record, then its index keys).
func (b *Backend) Take(ctx context.Context, id string) ([]byte, error) {
	if b.sharded {
		records, err := b.takeSharded(ctx, "TAKE", id)
		if err != nil {
			return nil, err
		}
		return records[0], nil
	}
	var data []byte
	err := call(ctx, b.c, b.opts.Timeout, "TAKE", func(ctx context.Context) error {
		return replicated(ctx, b.c, b.opts, b.sessionKey(id), func(c client) error {
			v, err := takeScript.Run(ctx, c, []string{b.sessionKey(id), b.tagsKey(id)}, id).Text()
			if errors.Is(err, redis.Nil) {
				return nil
			}
			data = []byte(v)
			return err
		})
	})
	return data, err
}
