package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/session"
)

// On Redis Cluster a script may only touch keys of one hash slot. A
// session's record and its tags share the slot of its id ("s:{id}",
// "x:{id}"); each index key ("i:{key}") has the slot of its key, so every
// session of one user or provider session is found with one SMEMBERS on
// one node. A write or a delete that spans these slots is done in steps,
// each one a script on one slot, ordered so that no failure and no
// concurrent step can leave a live session that its index does not find:
//
//   - Set adds the id to its index keys first, then writes the record
//     and its tags (refused, with update set, when the record is gone, in
//     which case the id is taken out of those index keys again). A
//     session is thus always in its index before it exists. Set does not
//     take the id out of the index keys that the session no longer has,
//     as the single-server script does: two concurrent saves could
//     otherwise take it out of a key that the later one put back. Those
//     ids stay until the session ends, and the store, which checks every
//     session that Lookup returns against the logout, ends nothing by them.
//   - Delete and Take delete the record and its tags in one script, which
//     returns the index keys that the tags listed, then take the id out of
//     them. The session has ended with the first step: a failure of the
//     second leaves index entries that point to no session, which the
//     store skips, and which lapse with their index keys.
//
// Ending every session of a user or a provider session (a back-channel
// logout) is a Lookup, on the index key's slot, then a Get and a Delete
// of each session found, on each session's slot. A session created after
// the Lookup is not ended, as with a single server, where the Lookup
// comes before its script or after; a save of a session that the logout
// deleted meanwhile fails with [session.ErrEnded], so it cannot come back.

// indexAddScript adds an id to an index key and keeps the key for at
// least the TTL.
//
// KEYS: the index key. ARGV: id, ttl ms.
var indexAddScript = redis.NewScript(`
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`)

// setRecordScript stores a session's record and adds index keys to its
// tags.
//
// KEYS: session, tags. ARGV: data, ttl ms, update, index keys...
var setRecordScript = redis.NewScript(`
local ttl = tonumber(ARGV[2])
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
for i = 4, #ARGV do
	redis.call('SADD', KEYS[2], ARGV[i])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('PTTL', KEYS[2]) < ttl then
	redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
`)

// takeRecordScript deletes a session's record and its tags, and returns
// the record (or false) followed by the index keys its tags listed.
//
// KEYS: session, tags.
var takeRecordScript = redis.NewScript(`
local data = redis.call('GET', KEYS[1])
local tags = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
table.insert(tags, 1, data)
return tags
`)

// setSharded is Set on Redis Cluster: see above.
func (b *Backend) setSharded(ctx context.Context, id string, data []byte, ms int64, index []string, update bool) error {
	keys := make([]string, len(index))
	adds := make([]scriptCall, len(index))
	for i, k := range index {
		keys[i] = b.indexKey(k)
		adds[i] = scriptCall{keys: []string{keys[i]}, args: []any{id, ms}}
	}
	flag := "0"
	if update {
		flag = "1"
	}
	args := make([]any, 0, 3+len(keys))
	args = append(args, data, ms, flag)
	for _, k := range keys {
		args = append(args, k)
	}
	var stored int64
	err := call(ctx, b.c, b.opts.Timeout, "SET", func(ctx context.Context) error {
		if _, err := runScripts(ctx, b.c, indexAddScript, adds); err != nil {
			return err
		}
		var err error
		stored, err = setRecordScript.Run(ctx, b.c, []string{b.sessionKey(id), b.tagsKey(id)}, args...).Int64()
		return err
	})
	if err != nil {
		return err
	}
	if stored == 0 {
		// The session is gone, and ids are never reused: the index keys
		// may drop it. A failure here leaves entries the store skips.
		_ = call(ctx, b.c, b.opts.Timeout, "SREM", func(ctx context.Context) error {
			return b.unindex(ctx, id, keys)
		})
		return session.ErrEnded
	}
	return nil
}

// takeSharded deletes the sessions of ids and returns their records (nil
// for an absent one), then takes them out of their index keys.
func (b *Backend) takeSharded(ctx context.Context, what string, ids ...string) ([][]byte, error) {
	takes := make([]scriptCall, len(ids))
	for i, id := range ids {
		takes[i] = scriptCall{keys: []string{b.sessionKey(id), b.tagsKey(id)}}
	}
	var cmds []*redis.Cmd
	err := call(ctx, b.c, b.opts.Timeout, what, func(ctx context.Context) error {
		if b.opts.WaitReplicas > 0 {
			// Each session on a connection of its own master, and WAIT;
			// every session is deleted, whatever a WAIT answers.
			cmds = make([]*redis.Cmd, len(takes))
			var first error
			for i, t := range takes {
				if err := replicated(ctx, b.c, b.opts, t.keys[0], func(c client) error {
					cmds[i] = takeRecordScript.Run(ctx, c, t.keys)
					return cmds[i].Err()
				}); err != nil && first == nil {
					first = err
				}
			}
			return first
		}
		var err error
		cmds, err = runScripts(ctx, b.c, takeRecordScript, takes)
		return err
	})
	if err != nil {
		return nil, err
	}
	records := make([][]byte, len(ids))
	tags := make(map[string][]string) // id -> index keys
	for i, cmd := range cmds {
		vals, err := cmd.Slice()
		if err != nil || len(vals) == 0 {
			return nil, unavailable(what, fmt.Errorf("unexpected reply %v: %w", cmd.Val(), err))
		}
		if s, ok := vals[0].(string); ok {
			records[i] = []byte(s)
		}
		for _, v := range vals[1:] {
			if k, ok := v.(string); ok {
				tags[ids[i]] = append(tags[ids[i]], k)
			}
		}
	}
	if len(tags) > 0 {
		// The sessions have ended; a failure here leaves index entries
		// that point to no session, which the store skips.
		_ = call(ctx, b.c, b.opts.Timeout, "SREM", func(ctx context.Context) error {
			_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for id, keys := range tags {
					for _, k := range keys {
						p.SRem(ctx, k, id)
					}
				}
				return nil
			})
			return err
		})
	}
	return records, nil
}

// unindex takes id out of the index keys.
func (b *Backend) unindex(ctx context.Context, id string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.SRem(ctx, k, id)
		}
		return nil
	})
	return err
}

// scriptCall is one run of a script: its keys and arguments.
type scriptCall struct {
	keys []string
	args []any
}

// runScripts runs the calls of s in one pipeline, which a cluster client
// splits by node, and fails if any failed. A node that does not know the
// script yet gets its source.
func runScripts(ctx context.Context, c client, s *redis.Script, calls []scriptCall) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	switch len(calls) {
	case 0:
		return nil, nil
	case 1:
		cmds[0] = s.Run(ctx, c, calls[0].keys, calls[0].args...)
	default:
		var failed error // of a pipeline as a whole, such as a closed client
		pipe := func(eval bool, which []int) {
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, i := range which {
					if eval {
						cmds[i] = s.Eval(ctx, p, calls[i].keys, calls[i].args...)
					} else {
						cmds[i] = s.EvalSha(ctx, p, calls[i].keys, calls[i].args...)
					}
				}
				return nil
			})
			if err != nil && !isNoScript(err) && !errors.Is(err, redis.Nil) {
				failed = err
			}
		}
		all := make([]int, len(calls))
		for i := range all {
			all[i] = i
		}
		pipe(false, all)
		var unknown []int
		for i, cmd := range cmds {
			if isNoScript(cmd.Err()) {
				unknown = append(unknown, i)
			}
		}
		if len(unknown) > 0 {
			pipe(true, unknown)
		}
		if failed != nil {
			return cmds, failed
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return cmds, err
		}
	}
	return cmds, nil
}

func isNoScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}
