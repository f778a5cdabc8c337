package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/endsession/endsession/redisstore"
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
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
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

// redisCounter counts the round trips of a go-redis client: a command or
// a pipeline is one.
type redisCounter struct{ n atomic.Int64 }

func (c *redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisUse is the Redis of the running benchmark, for reportRedis.
var redisUse struct {
	counter  *redisCounter
	admin    *redis.Client
	commands int64 // the server's command count when the loop started
	// uncounted are the round trips and commands of untimed work.
	uncountedRT, uncountedCmds int64
}

// newRedisBackend returns endsession's Redis backend on an emptied
// server, counting its round trips.
func newRedisBackend(tb testing.TB) *redisstore.Backend {
	tb.Helper()
	addr := redisAddr(tb)
	admin := redis.NewClient(&redis.Options{Addr: addr})
	tb.Cleanup(func() { admin.Close() })
	if err := admin.FlushAll(context.Background()).Err(); err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	tb.Cleanup(func() { c.Close() })
	counter := new(redisCounter)
	c.AddHook(counter)
	backend, err := redisstore.NewBackend(c, redisstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	redisUse.counter, redisUse.admin = counter, admin
	return backend
}

// countingRedis starts counting: round trips from the client's side and
// commands from the server's (INFO commandstats).
func countingRedis(tb testing.TB) {
	if redisUse.counter == nil {
		return
	}
	redisUse.counter.n.Store(0)
	redisUse.uncountedRT, redisUse.uncountedCmds = 0, 0
	redisUse.commands = serverCommands(tb)
}

// uncountedRedis runs fn, untimed work, leaving its Redis use out of the
// counts.
func uncountedRedis(tb testing.TB, fn func()) {
	if redisUse.counter == nil {
		fn()
		return
	}
	rt, cmds := redisUse.counter.n.Load(), serverCommands(tb)
	fn()
	redisUse.uncountedRT += redisUse.counter.n.Load() - rt
	redisUse.uncountedCmds += serverCommands(tb) - cmds
}

// reportRedis adds, to a benchmark that used Redis, its round trips and
// server-side commands per operation.
func reportRedis(b *testing.B) {
	if redisUse.counter == nil {
		return
	}
	defer func() { redisUse.counter, redisUse.admin = nil, nil }()
	rt := float64(redisUse.counter.n.Load()-redisUse.uncountedRT) / float64(b.N)
	cmds := float64(serverCommands(b)-redisUse.commands-redisUse.uncountedCmds) / float64(b.N)
	b.ReportMetric(rt, "redis-round-trips/op")
	b.ReportMetric(cmds, "redis-commands/op")
	recordMore(b, map[string]float64{"redis-round-trips/op": rt, "redis-commands/op": cmds})
}

// serverCommands is the number of commands the server ran, but for INFO
// itself.
func serverCommands(tb testing.TB) int64 {
	info, err := redisUse.admin.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_get:calls=1,usec=...
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok || name == "cmdstat_info" {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		n, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			tb.Fatalf("INFO commandstats: %q", line)
		}
		total += n
	}
	return total
}
