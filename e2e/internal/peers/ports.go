package peers

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreePort returns a 127.0.0.1 address that nobody listens on, with a port
// below the kernel's ephemeral range. Use it for a server that the test stops
// and starts again on the same address: a port from the ephemeral range can
// meanwhile become the local end of a loopback connection (or of a client
// that connects to itself while it retries), and the restart then fails with
// "address already in use".
func FreePort(t testing.TB) string {
	t.Helper()
	low, high := 10000, ephemeralLow()-1
	if high < low+1000 {
		high = low + 20000
	}
	for range 200 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(low+rand.IntN(high-low+1)))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 32768
}
