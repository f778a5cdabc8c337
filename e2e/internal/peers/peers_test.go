package peers

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeTB records Skip and Fatal instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skip(args ...any)                  { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatal(args ...any)                 { f.failed = fmt.Sprint(args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestMissingPeerSkipsLocallyAndFailsInCI(t *testing.T) {
	closed := freeAddr(t) // nothing listens there
	cases := []struct {
		name    string
		env     map[string]string
		require func(testing.TB) string
		mention string
	}{
		{"redis unset", map[string]string{EnvRedisAddr: ""}, RequireRedis, EnvRedisAddr},
		{"redis down", map[string]string{EnvRedisAddr: closed}, RequireRedis, closed},
		{"redis cluster unset", map[string]string{EnvRedisCluster: ""}, func(t testing.TB) string { return strings.Join(RequireRedisCluster(t), ",") }, EnvRedisCluster},
		{"redis cluster node down", map[string]string{EnvRedisCluster: closed}, func(t testing.TB) string { return strings.Join(RequireRedisCluster(t), ",") }, closed},
		{"op unset", map[string]string{EnvOPURL: ""}, RequireOP, EnvOPURL},
		{"op down", map[string]string{EnvOPURL: "http://" + closed}, RequireOP, closed},
		{"chromium absent", map[string]string{EnvChromium: filepath.Join(t.TempDir(), "no-chromium")}, RequireChromium, "no-chromium"},
		{"redis-server absent", map[string]string{EnvRedisServer: filepath.Join(t.TempDir(), "no-redis")}, RequireRedisServer, "no-redis"},
		{"app addr unset", map[string]string{EnvAppAddr: ""}, AppAddr, EnvAppAddr},
	}
	for _, c := range cases {
		for _, ci := range []string{"", "true"} {
			t.Run(fmt.Sprintf("%s/CI=%s", c.name, ci), func(t *testing.T) {
				t.Setenv(EnvCI, ci)
				for k, v := range c.env {
					t.Setenv(k, v)
				}
				f := &fakeTB{TB: t}
				if got := c.require(f); got != "" {
					t.Fatalf("require returned %q for a missing peer", got)
				}
				msg := f.skipped
				if ci == "true" {
					if f.failed == "" || f.skipped != "" {
						t.Fatalf("CI=true: want a failure, got skip=%q fail=%q", f.skipped, f.failed)
					}
					msg = f.failed
				} else if f.skipped == "" || f.failed != "" {
					t.Fatalf("locally: want a skip, got skip=%q fail=%q", f.skipped, f.failed)
				}
				if !strings.Contains(msg, c.mention) || !strings.Contains(msg, "missing peer") {
					t.Fatalf("message %q should name %q", msg, c.mention)
				}
			})
		}
	}
}

func TestRequireChromiumFindsAnExecutable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvChromium, p)
	if got := RequireChromium(t); got != p {
		t.Fatalf("RequireChromium = %q, want %q", got, p)
	}
}

func TestRequireRedisPings(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte("+PONG\r\n"))
			c.Close()
		}
	}()
	t.Setenv(EnvRedisAddr, ln.Addr().String())
	if got := RequireRedis(t); got != ln.Addr().String() {
		t.Fatalf("RequireRedis = %q", got)
	}
}

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "TRUE": true, "1": true} {
		t.Setenv(EnvCI, v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestSharedRedisAnswers(t *testing.T) {
	if addr := RequireRedis(t); addr == "" {
		t.Fatal("no address")
	}
}

func TestPrivateRedisStopsAndRestarts(t *testing.T) {
	r := StartRedis(t)
	if err := pingRedis(r.Addr, time.Second); err != nil {
		t.Fatalf("fresh redis: %v", err)
	}
	r.Stop()
	if err := pingRedis(r.Addr, time.Second); err == nil {
		t.Fatal("redis answers after Stop")
	}
	r.Start()
	if err := pingRedis(r.Addr, time.Second); err != nil {
		t.Fatalf("restarted redis: %v", err)
	}
	r.Kill()
	if err := pingRedis(r.Addr, time.Second); err == nil {
		t.Fatal("redis answers after Kill")
	}
	r.Start()
}

func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	addr := FreePort(t)
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	if n < 10000 || n >= ephemeralLow() {
		t.Fatalf("FreePort = %s, want a port in [10000, %d)", addr, ephemeralLow())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreePort's address is not free: %v", err)
	}
	ln.Close()
}
