package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvClusterAddrs names the nodes of a running Redis Cluster, as
// "host:port,host:port,...": scripts/test starts one (three masters, three
// replicas) and exports it. Without it the tests start a cluster of their
// own, once for the package.
const EnvClusterAddrs = "ENDSESSION_REDIS_CLUSTER_ADDRS"

// redisCluster is a Redis Cluster of six redis-server processes on
// loopback, three masters and a replica of each, that a test started.
type redisCluster struct {
	nodes []*clusterNode
}

type clusterNode struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func (n *clusterNode) addr() string { return "127.0.0.1:" + strconv.Itoa(n.port) }

// redisBinaries returns redis-server and redis-cli, or skips the test
// (fails it on CI) when they are missing.
func redisBinaries(t testing.TB) (server, cli string) {
	t.Helper()
	server = os.Getenv("ENDSESSION_REDIS_SERVER")
	if server == "" {
		server, _ = exec.LookPath("redis-server")
	}
	cli = os.Getenv("ENDSESSION_REDIS_CLI")
	if cli == "" {
		cli, _ = exec.LookPath("redis-cli")
	}
	if server == "" || cli == "" {
		msg := "redis-server or redis-cli is missing: install them (apt-get install redis-server) or set ENDSESSION_REDIS_SERVER and ENDSESSION_REDIS_CLI"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return server, cli
}

// startCluster starts a cluster in dir whose nodes declare a peer failed
// after nodeTimeout. The caller stops it. A cluster that does not become
// healthy (seen once on a machine at a load average of 16) is stopped and
// started again once, on other ports.
func startCluster(t testing.TB, dir string, nodeTimeout time.Duration) (*redisCluster, error) {
	rc, err := startClusterOnce(t, filepath.Join(dir, "a"), nodeTimeout)
	if err != nil {
		t.Logf("the Redis Cluster did not start, starting another: %v", err)
		rc, err = startClusterOnce(t, filepath.Join(dir, "b"), nodeTimeout)
	}
	return rc, err
}

func startClusterOnce(t testing.TB, dir string, nodeTimeout time.Duration) (*redisCluster, error) {
	server, cli := redisBinaries(t)
	rc := &redisCluster{}
	for i := range 6 {
		// A node listens on two ports: for clients, and for the other
		// nodes (the cluster bus).
		ports, err := freePorts(2)
		if err != nil {
			rc.stop()
			return nil, err
		}
		port := ports[0]
		n := &clusterNode{port: port, dir: filepath.Join(dir, "node"+strconv.Itoa(i))}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			rc.stop()
			return nil, err
		}
		n.cmd = exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(ports[1]), "--cluster-config-file", filepath.Join(n.dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10),
			// A replica takes over however long its link was down.
			"--cluster-replica-validity-factor", "0",
			"--save", "", "--appendonly", "no", "--dir", n.dir, "--logfile", filepath.Join(n.dir, "redis.log"))
		if err := n.cmd.Start(); err != nil {
			rc.stop()
			return nil, fmt.Errorf("starting redis-server: %w", err)
		}
		n.done = make(chan struct{})
		go func() { n.cmd.Wait(); close(n.done) }()
		rc.nodes = append(rc.nodes, n)
	}
	addrs := rc.addrs()
	for _, a := range addrs {
		if err := waitUntil(20*time.Second, func() error { return pingAddr(a) }); err != nil {
			rc.stop()
			return nil, fmt.Errorf("node %s: %w", a, err)
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		rc.stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	if err := rc.waitHealthy(60 * time.Second); err != nil {
		rc.stop()
		return nil, err
	}
	return rc, nil
}

// freePorts returns n distinct ports that nobody listened on.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startPrivateCluster starts a cluster for t alone, stopped when t ends.
func startPrivateCluster(t *testing.T, nodeTimeout time.Duration) *redisCluster {
	t.Helper()
	rc, err := startCluster(t, t.TempDir(), nodeTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.stop)
	return rc
}

func (rc *redisCluster) addrs() []string {
	var as []string
	for _, n := range rc.nodes {
		as = append(as, n.addr())
	}
	return as
}

// stop kills every node and waits for it.
func (rc *redisCluster) stop() {
	for _, n := range rc.nodes {
		if n.cmd.Process != nil {
			n.cmd.Process.Kill()
			<-n.done
		}
	}
}

// kill stops the node at addr abruptly (SIGKILL), as a crash would.
func (rc *redisCluster) kill(addr string) {
	for _, n := range rc.nodes {
		if n.addr() == addr {
			n.cmd.Process.Kill()
			<-n.done
			return
		}
	}
	panic("no node " + addr)
}

// waitHealthy waits until every running node reports cluster_state:ok, sees
// three masters each with a replica in sync, and agrees on the slots.
func (rc *redisCluster) waitHealthy(within time.Duration) error {
	return waitUntil(within, func() error {
		var epochs []string
		for _, n := range rc.nodes {
			select {
			case <-n.done:
				continue
			default:
			}
			c := redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1, DisableIdentity: true})
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && !strings.Contains(info, "cluster_state:ok") {
				err = fmt.Errorf("%s: cluster_state is not ok", n.addr())
			}
			var nodes string
			if err == nil {
				nodes, err = c.ClusterNodes(context.Background()).Result()
			}
			var repl string
			if err == nil {
				repl, err = c.Info(context.Background(), "replication").Result()
			}
			c.Close()
			if err != nil {
				return err
			}
			masters, replicas := 0, 0
			for line := range strings.SplitSeq(strings.TrimSpace(nodes), "\n") {
				f := strings.Fields(line)
				if len(f) < 8 || strings.Contains(f[2], "fail") {
					continue
				}
				switch {
				case strings.Contains(f[2], "master") && len(f) > 8:
					masters++
				case strings.Contains(f[2], "slave") && f[7] == "connected":
					replicas++
				}
			}
			if masters != 3 || replicas != 3 {
				return fmt.Errorf("%s sees %d masters with slots and %d connected replicas:\n%s", n.addr(), masters, replicas, nodes)
			}
			if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				return fmt.Errorf("%s: the replica's link is not up", n.addr())
			}
			epochs = append(epochs, configEpoch(info))
		}
		for _, e := range epochs {
			if e != epochs[0] {
				return fmt.Errorf("the nodes do not agree yet (epochs %v)", epochs)
			}
		}
		return nil
	})
}

func configEpoch(info string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_current_epoch:"); ok {
			return v
		}
	}
	return ""
}

// client returns a cluster client with the options endsession needs.
func clusterClient(t testing.TB, addrs []string) *redis.ClusterClient {
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 addrs,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func pingAddr(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true, DialTimeout: time.Second})
	defer c.Close()
	return c.Ping(context.Background()).Err()
}

// waitUntil polls check until it succeeds, for at most within.
func waitUntil(within time.Duration, check func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %w", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var shared struct {
	once  sync.Once
	addrs []string
	rc    *redisCluster
	dir   string
	err   error
}

// sharedCluster returns the nodes of the package's cluster: the one
// scripts/test started, or one these tests start on first use (stopped by
// TestMain).
func sharedCluster(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(EnvClusterAddrs); env != "" {
		return strings.Split(env, ",")
	}
	redisBinaries(t)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "redisstore-cluster-")
		if shared.err != nil {
			return
		}
		shared.rc, shared.err = startCluster(t, shared.dir, 5*time.Second)
		if shared.err == nil {
			shared.addrs = shared.rc.addrs()
		}
	})
	if shared.err != nil {
		t.Fatalf("starting the tests' Redis Cluster: %v", shared.err)
	}
	return shared.addrs
}

// stopSharedCluster stops the cluster sharedCluster started, if any.
func stopSharedCluster() {
	if shared.rc != nil {
		shared.rc.stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// eachRedis runs test against a single server of its own and against the
// shared cluster, as subtests "single" and "cluster".
func eachRedis(t *testing.T, test func(t *testing.T, c redis.UniversalClient)) {
	t.Run("single", func(t *testing.T) {
		test(t, startRedis(t).Client())
	})
	t.Run("cluster", func(t *testing.T) {
		test(t, clusterClient(t, sharedCluster(t)))
	})
}
