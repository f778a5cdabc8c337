package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/endsession/endsession/middleware"
	"github.com/redis/go-redis/v9"
)

// Locker hands out short distributed locks in Redis, for work that only
// one replica should do at a time, such as refreshing a session's tokens
// (a refresh token may be used once). A lock is "SET key token NX PX ttl"
// and is released by deleting the key only if it still holds the token,
// so a holder whose lock expired never releases another's.
//
// The TTL bounds how long a crashed holder blocks others: choose it
// longer than the work, and short. These locks are advisory and fit work
// whose double execution is harmful but not catastrophic; they are no
// substitute for fencing in a system of record.
type Locker struct {
	c    client
	opts Options
}

// ErrNotHeld is returned by [Lock.Release] when the lock had expired, and
// perhaps been taken by another, before it was released.
var ErrNotHeld = errors.New("redisstore: lock not held")

// NewLocker returns a Locker using c, or an error if c or opts are not
// suitable (see [Options.Timeout]). Locks are keys "<prefix>lock:<name>".
func NewLocker(c redis.UniversalClient, opts Options) (*Locker, error) {
	opts.setDefaults()
	if err := check(c, opts, false); err != nil {
		return nil, err
	}
	return &Locker{c: c, opts: opts}, nil
}

// Lock is a held lock.
type Lock struct {
	l     *Locker
	key   string
	token string
}

// TryLock takes the lock name for ttl if it is free. It reports false,
// without error, when another holds it.
func (l *Locker) TryLock(ctx context.Context, name string, ttl time.Duration) (*Lock, bool, error) {
	if ttl < time.Millisecond {
		return nil, false, errors.New("redisstore: lock ttl must be at least a millisecond")
	}
	lk := &Lock{l: l, key: l.opts.Prefix + "lock:" + name, token: rand.Text()}
	var ok bool
	err := call(ctx, l.c, l.opts.Timeout, "lock", func(ctx context.Context) error {
		var err error
		ok, err = l.c.SetNX(ctx, lk.key, lk.token, ttl).Result()
		return err
	})
	if err != nil || !ok {
		return nil, false, err
	}
	return lk, true, nil
}

// Lock takes the lock name for ttl, waiting while another holds it,
// until ctx is done. It returns ctx's error when it gives up.
func (l *Locker) Lock(ctx context.Context, name string, ttl time.Duration) (*Lock, error) {
	wait := 5 * time.Millisecond
	for {
		lk, ok, err := l.TryLock(ctx, name, ttl)
		if err != nil || ok {
			return lk, err
		}
		t := time.NewTimer(wait/2 + mrand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// releaseScript deletes the lock only if it still holds our token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Release frees the lock. It returns [ErrNotHeld] when the lock had
// expired meanwhile; another holder's lock is never released.
func (k *Lock) Release(ctx context.Context) error {
	var n int64
	err := call(ctx, k.l.c, k.l.opts.Timeout, "unlock", func(ctx context.Context) error {
		var err error
		n, err = releaseScript.Run(ctx, k.l.c, []string{k.key}, k.token).Int64()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotHeld
	}
	return nil
}

// RefreshLocker returns l as a [middleware.Locker] for Config.Locker, so
// that replicas sharing this Redis refresh a session one at a time. It is
// also a [middleware.RefreshResults]: the result of each refresh, which
// the middleware encrypts under its session keys, is kept for the grace
// window in a hash per session, "<prefix>rf:<group>" (a key
// "<group>.<token>" is its field "<token>"), with a TTL, so that a request
// carrying the session from before a refresh gets the refreshed one on
// any replica. It is a [middleware.RefreshForgetter] too: when the
// session ends, its hash is deleted at once.
func (l *Locker) RefreshLocker() middleware.Locker {
	return refreshLocker{l}
}

// refreshLocker is a Locker's [middleware.Locker] and
// [middleware.RefreshResults].
type refreshLocker struct{ l *Locker }

func (r refreshLocker) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	lk, err := r.l.Lock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	return func() { lk.Release(context.WithoutCancel(ctx)) }, nil
}

// resultField splits a refresh result's key into its session's hash and
// its field.
func (r refreshLocker) resultField(key string) (hash, field string) {
	group, field, ok := strings.Cut(key, ".")
	if !ok {
		group, field = key, "-"
	}
	return r.l.opts.Prefix + "rf:" + group, field
}

// Remember implements [middleware.RefreshResults] with one HSET and a
// PEXPIRE of the session's hash, in one transaction.
func (r refreshLocker) Remember(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	hash, field := r.resultField(key)
	return call(ctx, r.l.c, r.l.opts.Timeout, "remember refresh", func(ctx context.Context) error {
		_, err := r.l.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, hash, field, value)
			p.PExpire(ctx, hash, ttl)
			return nil
		})
		return err
	})
}

// Recall implements [middleware.RefreshResults] with one HGET.
func (r refreshLocker) Recall(ctx context.Context, key string) ([]byte, error) {
	hash, field := r.resultField(key)
	var value []byte
	err := call(ctx, r.l.c, r.l.opts.Timeout, "recall refresh", func(ctx context.Context) error {
		var err error
		value, err = r.l.c.HGet(ctx, hash, field).Bytes()
		if errors.Is(err, redis.Nil) {
			value, err = nil, nil
		}
		return err
	})
	return value, err
}

// Forget implements [middleware.RefreshForgetter] with one DEL.
func (r refreshLocker) Forget(ctx context.Context, group string) error {
	return call(ctx, r.l.c, r.l.opts.Timeout, "forget refreshes", func(ctx context.Context) error {
		return r.l.c.Del(ctx, r.l.opts.Prefix+"rf:"+group).Err()
	})
}
