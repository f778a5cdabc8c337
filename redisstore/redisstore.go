// Package redisstore keeps endsession's sessions in Redis, so that every
// replica of an application sees the same sessions and a logout or a
// back-channel logout on one replica ends the session on all of them.
//
//   - [Backend] is a [session.Backend] for a [session.ServerStore]: one
//     Redis string per session, expiring with the session, and a Redis set
//     per provider session (issuer and sid) and per user (issuer and sub)
//     for back-channel logout.
//   - [Revocations] is a [session.Revocations] list shared by replicas that
//     keep sessions in cookies.
//   - [Locker] hands out short distributed locks, for work that one
//     replica only should do at a time (such as refreshing a token).
//
// Every call to Redis is bounded by [Options.Timeout]; an error (Redis
// down, slow, or refusing) wraps [session.ErrUnavailable], which the
// middleware answers with 503. go-redis reconnects by itself, so requests
// recover as soon as Redis is back.
//
// It works with a single Redis server, a Sentinel failover client, and
// Redis Cluster (a [redis.ClusterClient]): every script touches the keys
// of one hash slot only, and the steps that span slots are ordered so that
// logout stays correct under concurrency and failures (see [Backend]).
// Client side sharding (Ring) is refused by [NewBackend] and
// [NewRevocations].
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/session"
)

// Options configures the types of this package.
type Options struct {
	// Prefix starts every key; default "endsession:". Give replicas of
	// one application the same prefix, and other applications sharing the
	// Redis another. It must not hold "{" or "}", which choose the hash
	// slot of a key on Redis Cluster.
	Prefix string
	// Timeout bounds every call to Redis; default 500ms. A call past it
	// fails with [session.ErrUnavailable]. The client must have
	// ContextTimeoutEnabled set, so that go-redis bounds network reads
	// and writes by it too.
	Timeout time.Duration
	// Now is the clock, used to turn times into TTLs; default time.Now.
	Now func() time.Time
	// WaitReplicas, when positive, makes each logout (a Backend's Delete
	// and Take, a Revocations list's Revoke) wait until that many replicas
	// of the master that took it have acknowledged it (Redis WAIT), within
	// Timeout. When fewer do, it fails with [session.ErrUnavailable]: the
	// logout is done on the master, the cookie is kept, and a retry logs
	// out again. Replication is asynchronous, so a failover loses the
	// writes its master had not yet sent, and a lost logout is a session
	// that comes back; WAIT narrows that window and does not close it
	// (Redis may still promote a replica that missed the write). Default
	// 0: no wait. It needs a *redis.Client (one server, or a failover
	// client) or a *redis.ClusterClient.
	WaitReplicas int
	// RevocationLimits bounds a [Revocations] list, as it bounds a
	// [session.MemoryRevocations]; zero fields mean their defaults. The
	// other types ignore it.
	RevocationLimits session.RevocationLimits
	// Logger receives a warning when a [Revocations] list must drop
	// logouts that have not lapsed to keep within RevocationLimits (at
	// most one a minute, with how many: the sessions they ended open
	// again); default slog.Default(). The other types ignore it.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Prefix == "" {
		o.Prefix = "endsession:"
	}
	if o.Timeout == 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// client is what the package needs of go-redis.
type client interface {
	redis.Cmdable
	redis.Scripter
}

// check validates the options and the client. Clients that shard keys
// are refused when multiKey is set.
func check(c redis.UniversalClient, o Options, multiKey bool) error {
	if c == nil {
		return errors.New("redisstore: a Redis client is required")
	}
	if o.Timeout < 0 {
		return errors.New("redisstore: Timeout must not be negative")
	}
	if err := checkWait(c, o); err != nil {
		return err
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return errors.New("redisstore: Prefix must not contain { or }: they choose a key's hash slot on Redis Cluster")
	}
	switch c := c.(type) {
	case *redis.Client:
		if !c.Options().ContextTimeoutEnabled {
			return errTimeoutDisabled
		}
	case *redis.ClusterClient:
		if !c.Options().ContextTimeoutEnabled {
			return errTimeoutDisabled
		}
	case *redis.Ring:
		if multiKey {
			return errors.New("redisstore: a sharded Ring is not supported: use a single server or a failover client")
		}
		if !c.Options().ContextTimeoutEnabled {
			return errTimeoutDisabled
		}
	}
	return nil
}

var errTimeoutDisabled = errors.New("redisstore: the client must set ContextTimeoutEnabled, so that Options.Timeout bounds every call")

// call runs fn under the configured timeout and marks its error. On
// Redis Cluster a failure also reloads the client's map of the slots (at
// most once at a time, in the background): after a failover, go-redis
// keeps sending a dead master's slots to it until its map is reloaded,
// which it does by itself only on a redirection or every
// ClusterStateReloadInterval (a minute by default).
func call(ctx context.Context, c client, timeout time.Duration, what string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		if cc, ok := c.(*redis.ClusterClient); ok {
			cc.ReloadState(context.WithoutCancel(ctx))
		}
		return unavailable(what, err)
	}
	return nil
}

func unavailable(what string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", session.ErrUnavailable, what, err)
}

// Backend is a [session.Backend] in Redis. Each session is a string
// "<prefix>s:{<id>}" set with a TTL; each index key is a set
// "<prefix>i:{<key>}" of session ids, and each session's tags are a set
// "<prefix>x:{<id>}", both expiring no sooner than their sessions. Writes
// are Lua scripts, atomic on the server.
//
// On a single server (or a failover client) a request costs one GET; a
// session write one script call; a Delete one script call for all its
// ids. On Redis Cluster the braces put a session's record and tags in the
// slot of its id, and each index key in a slot of its own; a request
// still costs one GET, a write two round trips (the index keys, then the
// record) and a Delete two (the records, then the index keys), each
// pipelined over the nodes concerned. The order of these steps keeps a
// live session in its index keys whatever fails: see the comment at the
// top of cluster.go.
type Backend struct {
	c       client
	opts    Options
	sharded bool // on Redis Cluster: one slot per script
}

// NewBackend returns a Backend using c, or an error if c or opts are not
// suitable (see [Options.Timeout]).
func NewBackend(c redis.UniversalClient, opts Options) (*Backend, error) {
	opts.setDefaults()
	if err := check(c, opts, true); err != nil {
		return nil, err
	}
	_, sharded := c.(*redis.ClusterClient)
	return &Backend{c: c, opts: opts, sharded: sharded}, nil
}

func (b *Backend) sessionKey(id string) string { return b.opts.Prefix + "s:{" + id + "}" }
func (b *Backend) tagsKey(id string) string    { return b.opts.Prefix + "x:{" + id + "}" }
func (b *Backend) indexKey(k string) string    { return b.opts.Prefix + "i:{" + k + "}" }

// Get implements [session.Backend] with one GET.
func (b *Backend) Get(ctx context.Context, id string) ([]byte, error) {
	var data []byte
	err := call(ctx, b.c, b.opts.Timeout, "GET", func(ctx context.Context) error {
		v, err := b.c.Get(ctx, b.sessionKey(id)).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		data = v
		return err
	})
	return data, err
}

// setScript stores a session and its tags. Its writes are ordered so
// that no failure can leave a session that its index keys do not find:
// new tags first, then the session, then the removal of stale tags.
//
// KEYS: session, tags, index keys... ARGV: data, ttl ms, update, id.
var setScript = redis.NewScript(`
local ttl = tonumber(ARGV[2])
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
local wanted = {}
for i = 3, #KEYS do
	wanted[KEYS[i]] = true
	redis.call('SADD', KEYS[i], ARGV[4])
	if redis.call('PTTL', KEYS[i]) < ttl then
		redis.call('PEXPIRE', KEYS[i], ttl)
	end
	redis.call('SADD', KEYS[2], KEYS[i])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do
	if not wanted[k] then
		redis.call('SREM', k, ARGV[4])
		redis.call('SREM', KEYS[2], k)
	end
end
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('PTTL', KEYS[2]) < ttl then
	redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
`)

// Set implements [session.Backend] with one script call.
func (b *Backend) Set(ctx context.Context, id string, data []byte, ttl time.Duration, index []string, update bool) error {
	ms := ttl.Milliseconds()
	if ms <= 0 {
		return errors.New("redisstore: ttl must be at least a millisecond")
	}
	if b.sharded {
		return b.setSharded(ctx, id, data, ms, index, update)
	}
	keys := make([]string, 0, 2+len(index))
	keys = append(keys, b.sessionKey(id), b.tagsKey(id))
	for _, k := range index {
		keys = append(keys, b.indexKey(k))
	}
	flag := "0"
	if update {
		flag = "1"
	}
	var stored int64
	err := call(ctx, b.c, b.opts.Timeout, "SET", func(ctx context.Context) error {
		var err error
		stored, err = setScript.Run(ctx, b.c, keys, data, ms, flag, id).Int64()
		return err
	})
	if err != nil {
		return err
	}
	if stored == 0 {
		return session.ErrEnded
	}
	return nil
}

// deleteScript deletes sessions, then their tags.
//
// KEYS: session, tags, for each id. ARGV: the ids.
var deleteScript = redis.NewScript(`
for i = 1, #ARGV do
	local s, x = KEYS[2*i-1], KEYS[2*i]
	redis.call('DEL', s)
	for _, k in ipairs(redis.call('SMEMBERS', x)) do
		redis.call('SREM', k, ARGV[i])
	end
	redis.call('DEL', x)
end
return 1
`)

// Delete implements [session.Backend] with one script call (two round
// trips on Redis Cluster).
func (b *Backend) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if b.sharded {
		_, err := b.takeSharded(ctx, "DEL", ids...)
		return err
	}
	keys := make([]string, 0, 2*len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		keys = append(keys, b.sessionKey(id), b.tagsKey(id))
		args[i] = id
	}
	return call(ctx, b.c, b.opts.Timeout, "DEL", func(ctx context.Context) error {
		return replicated(ctx, b.c, b.opts, keys[0], func(c client) error {
			return deleteScript.Run(ctx, c, keys, args...).Err()
		})
	})
}

// Lookup implements [session.Backend] with one SMEMBERS.
func (b *Backend) Lookup(ctx context.Context, key string) ([]string, error) {
	var ids []string
	err := call(ctx, b.c, b.opts.Timeout, "SMEMBERS", func(ctx context.Context) error {
		var err error
		ids, err = b.c.SMembers(ctx, b.indexKey(key)).Result()
		return err
	})
	return ids, err
}
