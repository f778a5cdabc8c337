package bench

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Redis benchmarks start their own redis-server on a free loopback
// port: the binary named by ENDSESSION_REDIS_SERVER, or redis-server from
// PATH. Without one they are skipped, except under CI=true, where they
// fail.
var redisServer struct {
	once sync.Once
	cmd  *exec.Cmd
	addr string
	err  error
}

// redisAddr returns the address of the benchmarks' Redis server, starting
// it on first use.
func redisAddr(tb testing.TB) string {
	tb.Helper()
	redisServer.once.Do(startRedis)
	if redisServer.err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("Redis is required under CI: %v", redisServer.err)
		}
		tb.Skipf("skipping: %v (set ENDSESSION_REDIS_SERVER or put redis-server on PATH)", redisServer.err)
	}
	return redisServer.addr
}

func startRedis() {
	bin := os.Getenv("ENDSESSION_REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			redisServer.err = fmt.Errorf("no redis-server: %w", err)
			return
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		redisServer.err = err
		return
	}
	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	ln.Close()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		redisServer.err = fmt.Errorf("starting %s: %w", bin, err)
		return
	}
	redisServer.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := ping(addr); err == nil {
			break
		} else if time.Now().After(deadline) {
			redisServer.err = fmt.Errorf("%s on %s does not answer: %w", bin, addr, err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	redisServer.addr = addr
}

// ping sends PING over a raw connection.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// stopRedis stops the server the benchmarks started, if any.
func stopRedis() {
	if cmd := redisServer.cmd; cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}
