package peers

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisServer is a redis-server of the test's own, for outage tests: Stop it,
// then Start it again on the same address. It is empty at every start (no
// persistence) and is stopped when the test ends.
type RedisServer struct {
	Addr string

	t    testing.TB
	exe  string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts a private redis-server on a free loopback port (see
// FreePort).
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	exe := RequireRedisServer(t)
	if exe == "" {
		return nil
	}
	r := &RedisServer{Addr: FreePort(t), t: t, exe: exe, dir: t.TempDir()}
	t.Cleanup(r.Stop)
	r.Start()
	return r
}

// Start starts the server (again) and waits until it answers PING.
func (r *RedisServer) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		r.t.Fatalf("redis on %s is already running", r.Addr)
	}
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command(r.exe, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start %s: %v", r.exe, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done

	deadline := time.Now().Add(10 * time.Second)
	for {
		err := pingRedis(r.Addr, 500*time.Millisecond)
		if err == nil {
			return
		}
		select {
		case <-done:
			r.cmd = nil
			r.t.Fatalf("redis-server on %s exited at start (log in %s)", r.Addr, r.dir)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s does not answer: %v", r.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it.
// Its data is gone. Stopping a stopped server does nothing.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// Kill stops the server abruptly (SIGKILL), as a crash would.
func (r *RedisServer) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

func (r *RedisServer) String() string { return fmt.Sprintf("redis-server on %s", r.Addr) }
