// Package peers tells the end-to-end tests where the real peers are (Redis,
// the OpenID provider, Chromium) and stops a test that cannot have one.
//
// scripts/test starts the peers and exports their addresses. Without them a
// test is skipped with a message that names what is missing, so that
// `go test ./...` stays green on a laptop. Under CI=true a missing peer is a
// failure instead: CI must never pass by skipping.
package peers

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The environment variables that scripts/test exports.
const (
	EnvRedisAddr    = "ENDSESSION_REDIS_ADDR"          // host:port of a running redis-server
	EnvRedisServer  = "ENDSESSION_REDIS_SERVER"        // path of redis-server, for tests that run their own
	EnvRedisCluster = "ENDSESSION_REDIS_CLUSTER_ADDRS" // host:port,... of the nodes of a running Redis Cluster
	EnvOPURL        = "ENDSESSION_OP_URL"              // issuer URL of the running OpenID provider
	EnvOPLog        = "ENDSESSION_OP_LOG"              // file that receives the provider's JSON event log
	EnvChromium     = "ENDSESSION_CHROMIUM"            // path of the Chromium binary
	EnvAppAddr      = "ENDSESSION_APP_ADDR"            // host:port the app under test must listen on
	EnvApp2Addr     = "ENDSESSION_APP2_ADDR"           // host:port of the second app (a replica)
	EnvCI           = "CI"
)

// DefaultChromium is Debian's Chromium.
const DefaultChromium = "/usr/bin/chromium"

// InCI reports whether missing peers are failures (CI=true) rather than skips.
func InCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(EnvCI)))
	return v == "true" || v == "1" || v == "yes"
}

// Missing stops the test because the peer what is not there, for the reason
// why: Fatal under CI=true, Skip elsewhere. The Require functions call it;
// helpers that need a peer of their own can call it too.
func Missing(t testing.TB, what, why string) {
	t.Helper()
	missing(t, what, why)
}

func missing(t testing.TB, what, why string) {
	t.Helper()
	msg := fmt.Sprintf("missing peer %s: %s (run scripts/test, which installs and starts the peers)", what, why)
	if InCI() {
		t.Fatal(msg + " [CI=true: a missing peer is a failure]")
		return
	}
	t.Skip(msg)
}

// RequireRedis returns the address of the running Redis and checks that it
// answers PING.
func RequireRedis(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvRedisAddr)
	if addr == "" {
		missing(t, "redis", EnvRedisAddr+" is not set")
		return ""
	}
	if err := pingRedis(addr, 2*time.Second); err != nil {
		missing(t, "redis", fmt.Sprintf("%s=%s does not answer PING: %v", EnvRedisAddr, addr, err))
		return ""
	}
	return addr
}

// RequireRedisCluster returns the addresses of the nodes of the running
// Redis Cluster and checks that each answers PING.
func RequireRedisCluster(t testing.TB) []string {
	t.Helper()
	env := os.Getenv(EnvRedisCluster)
	if env == "" {
		missing(t, "redis cluster", EnvRedisCluster+" is not set")
		return nil
	}
	addrs := strings.Split(env, ",")
	for _, addr := range addrs {
		if err := pingRedis(addr, 2*time.Second); err != nil {
			missing(t, "redis cluster", fmt.Sprintf("node %s of %s does not answer PING: %v", addr, EnvRedisCluster, err))
			return nil
		}
	}
	return addrs
}

// RequireRedisServer returns the path of a redis-server binary, for tests
// that start, stop and restart a Redis of their own (outages).
func RequireRedisServer(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvRedisServer); p != "" {
		if isExecutable(p) {
			return p
		}
		missing(t, "redis-server", fmt.Sprintf("%s=%s is not an executable file", EnvRedisServer, p))
		return ""
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "redis-server", EnvRedisServer+" is not set and redis-server is not in PATH")
		return ""
	}
	return p
}

// RequireOP returns the issuer URL of the running OpenID provider (no
// trailing slash) and checks that it answers.
func RequireOP(t testing.TB) string {
	t.Helper()
	u := strings.TrimRight(os.Getenv(EnvOPURL), "/")
	if u == "" {
		missing(t, "OpenID provider", EnvOPURL+" is not set")
		return ""
	}
	if err := getOK(u+"/__test/health", 3*time.Second); err != nil {
		missing(t, "OpenID provider", fmt.Sprintf("%s=%s does not answer: %v", EnvOPURL, u, err))
		return ""
	}
	return u
}

// RequireChromium returns the path of the Chromium binary.
func RequireChromium(t testing.TB) string {
	t.Helper()
	p := os.Getenv(EnvChromium)
	if p == "" {
		p = DefaultChromium
	}
	if !isExecutable(p) {
		missing(t, "chromium", fmt.Sprintf("%s is not an executable file (set %s or apt-get install chromium)", p, EnvChromium))
		return ""
	}
	return p
}

// RequireNode returns the path of node, for tests that start an OpenID
// provider of their own (see package op).
func RequireNode(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node", "node is not in PATH")
		return ""
	}
	return p
}

// AppAddr returns the address (127.0.0.1:PORT) on which the app under test
// must listen: the running provider knows its redirect URIs in advance.
func AppAddr(t testing.TB) string {
	t.Helper()
	return requireAddr(t, EnvAppAddr, "app address")
}

// App2Addr is AppAddr for the second app, a replica of the first.
func App2Addr(t testing.TB) string {
	t.Helper()
	return requireAddr(t, EnvApp2Addr, "second app address")
}

func requireAddr(t testing.TB, env, what string) string {
	t.Helper()
	addr := os.Getenv(env)
	if addr == "" {
		missing(t, what, env+" is not set")
		return ""
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("%s=%q: want 127.0.0.1:PORT", env, addr)
	}
	return addr
}

// ServeApp serves h on addr (one of AppAddr, App2Addr) until the test ends.
// The address is fixed, so it retries for a moment if a previous test's
// server is still letting go of it.
func ServeApp(t testing.TB, addr string, h http.Handler) *http.Server {
	t.Helper()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on the app address %s: %v (is another test or process using it?)", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("app server on %s: %v", addr, err)
		}
	}()
	t.Cleanup(func() {
		// Close, not Shutdown: Chromium keeps preconnected sockets open,
		// and Shutdown waits 5 s for those.
		_ = srv.Close()
		<-done
	})
	return srv
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

func pingRedis(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}

func getOK(u string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}
