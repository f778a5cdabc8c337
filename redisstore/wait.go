package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// checkWait refuses a WaitReplicas that c cannot honour.
func checkWait(c redis.UniversalClient, o Options) error {
	if o.WaitReplicas < 0 {
		return errors.New("redisstore: WaitReplicas must not be negative")
	}
	if o.WaitReplicas == 0 {
		return nil
	}
	switch c.(type) {
	case *redis.Client, *redis.ClusterClient:
		return nil
	}
	return fmt.Errorf("redisstore: WaitReplicas needs a *redis.Client (one server or a failover client) or a *redis.ClusterClient, not %T", c)
}

// replicated runs fn, a write of key, and with [Options.WaitReplicas]
// set runs it on one connection to the master of key and then waits
// (WAIT) until that many replicas have acknowledged it, within ctx's
// deadline: WAIT counts the writes of its own connection only.
func replicated(ctx context.Context, c client, o Options, key string, fn func(c client) error) error {
	if o.WaitReplicas <= 0 {
		return fn(c)
	}
	var node *redis.Client
	switch cc := c.(type) {
	case *redis.ClusterClient:
		n, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return err
		}
		node = n
	case *redis.Client:
		node = cc
	default:
		return fmt.Errorf("WaitReplicas with a %T", c)
	}
	conn := node.Conn()
	defer conn.Close()
	if err := fn(conn); err != nil {
		return err
	}
	// WAIT answers by its own timeout, before the call's deadline cuts
	// the connection.
	wait := o.Timeout * 3 / 4
	if d, ok := ctx.Deadline(); ok {
		wait = time.Until(d) * 3 / 4
	}
	n, err := conn.Wait(ctx, o.WaitReplicas, max(wait, time.Millisecond)).Result()
	if err != nil {
		return err
	}
	if n < int64(o.WaitReplicas) {
		return fmt.Errorf("WAIT: %d of %d replicas acknowledged the write", n, o.WaitReplicas)
	}
	return nil
}
