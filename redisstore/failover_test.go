package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/redisstore"
	"github.com/endsession/endsession/session"
	"github.com/endsession/endsession/session/storetest"
)

// A master of the cluster crashes during traffic. Its replica takes over
// its slots; the sessions that had reached the replica keep working on
// every application replica, logins and logouts work again, and the test
// reports how many acknowledged writes the failover lost: replication is
// asynchronous, so a write the master acknowledged in the moment before
// the crash, and had not yet sent to its replica, is gone.
func TestClusterFailover(t *testing.T) {
	rc := startPrivateCluster(t, 2*time.Second)
	c := clusterClient(t, rc.addrs())
	p := prefix()
	opts := redisstore.Options{Prefix: p, Timeout: 2 * time.Second}
	a, b := redisReplicas(t, c, opts, session.Lifetime{})
	backend := newBackend(t, c, opts)

	// Users log in; their sessions are spread over the three masters.
	browsers := make([]*storetest.Browser, 30)
	node := make([]string, len(browsers)) // the master of each one's session
	seen := map[string]bool{}
	for i := range browsers {
		browsers[i] = storetest.NewBrowser()
		a.login(t, browsers[i], "user"+strconv.Itoa(i), "sid-"+strconv.Itoa(i))
		for _, k := range keys(t, c, p+"s:") {
			if !seen[k] {
				seen[k], node[i] = true, nodeOf(t, c, k)
			}
		}
	}
	victim := node[0]
	// WAIT: every write so far is on the replicas, as it would be a moment
	// later without it.
	if err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		got, err := n.Wait(ctx, 1, 10*time.Second).Result()
		if err == nil && got < 1 {
			err = fmt.Errorf("%s: no replica acknowledged the writes", n.Options().Addr)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Traffic: logins, written as fast as the cluster takes them.
	type write struct {
		id       string
		acked    bool
		afterEnd bool // the write began once the failover was over
	}
	var (
		mu     sync.Mutex
		writes []write
		over   = make(chan struct{})
		stop   = make(chan struct{})
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			finished := false
			select {
			case <-over:
				finished = true
			default:
			}
			d := storetest.NewData("load"+strconv.Itoa(i), "sid-load-"+strconv.Itoa(i), time.Now())
			d.ID = "load" + strconv.Itoa(i)
			raw, _ := d.MarshalBinary()
			err := backend.Set(ctx, d.ID, raw, time.Hour, []string{"sub|" + d.Issuer + "|" + d.Subject}, false)
			mu.Lock()
			writes = append(writes, write{id: d.ID, acked: err == nil, afterEnd: finished})
			mu.Unlock()
			if err != nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	waitWrites := func(n int) {
		t.Helper()
		if err := waitUntil(60*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(writes) < n {
				return fmt.Errorf("%d writes", len(writes))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitWrites(200)

	killed := time.Now()
	rc.kill(victim)
	// The replica is promoted once the other masters agree that the
	// master failed (cluster-node-timeout, 2 s here) and elect it.
	if err := rc.waitPromoted(victim, 120*time.Second); err != nil {
		t.Fatal(err)
	}
	promoted := time.Since(killed)
	// The application's clients find the new master within moments, not
	// at their next periodic reload of the slots (a minute).
	if err := waitUntil(20*time.Second, func() error {
		for _, r := range []*replica{a, b} {
			if code, body := r.me(browsers[0]); code != http.StatusOK {
				return fmt.Errorf("/me = %d %s", code, body)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("a session on the promoted replica: %v", err)
	}
	recovered := time.Since(killed)
	close(over)
	mu.Lock()
	n := len(writes)
	mu.Unlock()
	waitWrites(n + 100)
	close(stop)
	<-done

	// Every session from before the crash works, on either replica.
	for i, br := range browsers {
		wantUser(t, "session "+strconv.Itoa(i)+" after the failover", b, br, "user"+strconv.Itoa(i))
	}
	// Logins and logouts work.
	fresh := storetest.NewBrowser()
	b.login(t, fresh, "late", "sid-late")
	wantUser(t, "a login after the failover", a, fresh, "late")
	if rec := a.logout(browsers[0]); rec.Code != http.StatusSeeOther {
		t.Fatalf("logout after the failover: %d %s", rec.Code, rec.Body)
	}
	wantUser(t, "logged out after the failover", b, browsers[0], "")

	acked, refused, lost, lostAfter := 0, 0, 0, 0
	for _, w := range writes {
		if !w.acked {
			refused++
			continue
		}
		acked++
		raw, err := backend.Get(ctx, w.id)
		if err != nil {
			t.Fatal(err)
		}
		if raw == nil {
			lost++
			if w.afterEnd {
				lostAfter++
			}
		}
	}
	if lostAfter > 0 {
		t.Errorf("%d writes acknowledged after the failover are lost", lostAfter)
	}
	if acked == 0 || refused == 0 {
		t.Errorf("%d writes acknowledged, %d refused: the traffic did not span the failover", acked, refused)
	}
	t.Logf("failover: replica promoted %v after the master was killed, sessions served again after %v; of %d writes, %d acknowledged, %d refused (503) during the failover, %d acknowledged and lost (not yet replicated when the master died)",
		promoted.Round(100*time.Millisecond), recovered.Round(100*time.Millisecond), len(writes), acked, refused, lost)
}

// waitPromoted waits until a surviving node reports cluster_state:ok with
// three masters serving slots, none of them the failed node at addr.
func (rc *redisCluster) waitPromoted(addr string, within time.Duration) error {
	return waitUntil(within, func() error {
		for _, n := range rc.nodes {
			if n.addr() == addr {
				continue
			}
			c := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1, DisableIdentity: true})
			info, err := c.ClusterInfo(context.Background()).Result()
			var nodes string
			if err == nil {
				nodes, err = c.ClusterNodes(context.Background()).Result()
			}
			c.Close()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("%s: cluster_state is not ok", n.addr())
			}
			masters := 0
			for line := range strings.SplitSeq(strings.TrimSpace(nodes), "\n") {
				f := strings.Fields(line)
				if len(f) > 8 && strings.Contains(f[2], "master") && !strings.Contains(f[2], "fail") {
					if strings.HasPrefix(f[1], addr+"@") {
						return fmt.Errorf("%s still serves slots", addr)
					}
					masters++
				}
			}
			if masters != 3 {
				return fmt.Errorf("%s sees %d masters serving slots", n.addr(), masters)
			}
			return nil
		}
		return fmt.Errorf("no node left")
	})
}
