package redisstore_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestMain silences go-redis, which logs every failed dial: the tests
// stop Redis on purpose.
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	code := m.Run()
	stopSharedCluster()
	os.Exit(code)
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// redisServer is a redis-server the test started on a loopback port, so
// that it can stop, pause and restart it.
type redisServer struct {
	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
}

// startRedis starts a redis-server for t. Without the binary the test is
// skipped, or fails on CI.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	bin := os.Getenv("ENDSESSION_REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("redis-server is missing: install it (apt-get install redis-server) or set ENDSESSION_REDIS_SERVER")
			}
			t.Skip("redis-server is missing: install it (apt-get install redis-server) or set ENDSESSION_REDIS_SERVER to run the Redis tests")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &redisServer{t: t, bin: bin, port: port}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func (s *redisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start starts the server (again) on its port and waits until it answers.
func (s *redisServer) Start() {
	s.t.Helper()
	dir := s.t.TempDir()
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.ping() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Stop()
	s.t.Fatal("redis-server did not answer within 10s")
}

func (s *redisServer) ping() bool {
	c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// Stop kills the server and waits for it to exit.
func (s *redisServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // in case it is paused
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP): it accepts connections but answers
// nothing, like a Redis that is overloaded or cut off.
func (s *redisServer) Pause() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume thaws a paused server.
func (s *redisServer) Resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Client returns a client for the server with the options endsession
// needs, closed with the test.
func (s *redisServer) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:                  s.Addr(),
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DisableIdentity:       true,
	})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// keys lists the keys under prefix, on every master of a cluster.
func keys(t *testing.T, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		ks, err := c.Keys(context.Background(), prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	var mu sync.Mutex
	var all []string
	err := cc.ForEachMaster(context.Background(), func(ctx context.Context, n *redis.Client) error {
		ks, err := n.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		all = append(all, ks...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}
