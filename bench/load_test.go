package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/endsession/endsession/session"
)

// loadConnections is how many keep-alive connections the load generator
// keeps busy at once.
const loadConnections = 64

// BenchmarkLoad serves authenticated requests over loopback HTTP/1.1 with
// net/http's server, from a load generator in the same process that keeps
// 64 connections busy (each sends its next request as soon as the answer
// to the last one is in). Client and server share the machine's cores.
//
// The many-users cases carry 10,000 users' cookies: each request the
// next user's ("10k-users", as many sessions as requests in a row: the
// cookie store's default cache, about 1,000 sessions, cannot help; with
// "cache-192MiB" it holds them all, and "uncached" has none), or each
// user for 8 requests in a row, as a page and its resources or API calls
// ("visits-of-8"), interleaved over the connections. Every user has come
// twice before the clock starts. The one-cookie cases are the best case:
// every request the same session.
//
// Each store is measured against the bare handler serving the very same
// bytes (the same Cookie headers, in the same order), so that the
// difference is the session's work alone. The two alternate in rounds of
// 2,000 requests (about 50 ms), so that a shared machine's load weighs on
// both alike; a round ends with fewer than 64 requests in flight, and in
// rounds of 500 that ramp left the cores idle for a third of the time.
// One op is one
// request with the store: ns/op is the inverse of its throughput, also
// reported as req/s, next to the bare handler's (bare-req/s), their ratio
// (of-bare), and the median and 99th percentile latencies of both.
func BenchmarkLoad(b *testing.B) {
	one := func(setup func(testing.TB) (http.Handler, *http.Request)) func(b *testing.B) (http.Handler, [][]byte) {
		return func(b *testing.B) (http.Handler, [][]byte) {
			h, req := setup(b)
			return h, [][]byte{rawRequest(b, req)}
		}
	}
	users := func(store func(b *testing.B, n int) userStore) func(b *testing.B) (http.Handler, [][]byte) {
		return func(b *testing.B) (http.Handler, [][]byte) {
			s := store(b, loadUsers)
			raws := make([][]byte, loadUsers)
			for i := range raws {
				raws[i] = rawRequest(b, authRequest(s.cookie(i)))
			}
			return s.h, raws
		}
	}
	cookieStoreCache := func(size int) func(b *testing.B, _ int) userStore {
		return func(b *testing.B, _ int) userStore {
			return cookieUsers(b, session.CookieOptions{Secure: true, Keys: keys, CacheSize: size})
		}
	}
	cookieStore := cookieStoreCache(0)
	for _, c := range []struct {
		name  string
		setup func(b *testing.B) (http.Handler, [][]byte)
		visit int
	}{
		{"endsession-cookie-10k-users", users(cookieStore), 1},
		{"endsession-cookie-uncached-10k-users", users(cookieStoreCache(-1)), 1},
		{"endsession-cookie-10k-users-cache-192MiB", users(cookieStoreCache(192 << 20)), 1},
		{"endsession-memory-10k-users", users(memoryUsers), 1},
		{"endsession-cookie-10k-users-visits-of-8", users(cookieStore), 8},
		{"endsession-cookie", one(setupCookie), 1},
		{"endsession-memory", one(setupMemory), 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			h, raws := c.setup(b)
			store := newUsersTarget(b, h, raws, c.visit)
			floor := newUsersTarget(b, bare, raws, c.visit)
			// A server that has been up for a while: every user has come
			// twice before the clock starts.
			if len(raws) > 1 {
				store.warm(b, 2*len(raws)*c.visit)
				floor.warm(b, 2*len(raws)*c.visit)
			}
			runtime.GC()
			b.ResetTimer()
			const round = 2000
			for done := 0; done < b.N; done += round {
				n := min(round, b.N-done)
				floor.run(b, n)
				store.run(b, n)
			}
			b.StopTimer()
			rps, bareRPS := store.rps(), floor.rps()
			b.ReportMetric(float64(store.elapsed.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(rps, "req/s")
			b.ReportMetric(bareRPS, "bare-req/s")
			b.ReportMetric(rps/bareRPS, "of-bare")
			b.ReportMetric(store.percentile(0.50), "p50-µs")
			b.ReportMetric(store.percentile(0.99), "p99-µs")
			b.ReportMetric(floor.percentile(0.50), "bare-p50-µs")
			b.ReportMetric(floor.percentile(0.99), "bare-p99-µs")
			recordPlain(b, map[string]float64{
				"ns/op": float64(store.elapsed.Nanoseconds()) / float64(b.N),
				"req/s": rps, "bare-req/s": bareRPS, "of-bare": rps / bareRPS,
				"p50-µs": store.percentile(0.50), "p99-µs": store.percentile(0.99),
				"bare-p50-µs": floor.percentile(0.50), "bare-p99-µs": floor.percentile(0.99),
				"n": float64(b.N),
			})
		})
	}
}

// loadUsers is how many distinct users the many-users load cases serve.
const loadUsers = 10_000

// A target is one server on loopback with its pool of connections, and
// what the load generator measured of it.
type target struct {
	raws      [][]byte // the requests, one per user
	visit     int      // how many requests in a row carry one user's cookie
	next      atomic.Int64
	raw       []byte // the first request
	conns     []net.Conn
	readers   []*bufio.Reader
	visiting  []visiting // each connection's current visit, across runs
	elapsed   time.Duration
	requests  int
	latencies []time.Duration
}

// visiting is the request a connection is sending for its user, and how
// many more of that visit are left.
type visiting struct {
	raw  []byte
	left int
}

// rawRequest returns req as the bytes sent on the wire.
func rawRequest(b *testing.B, req *http.Request) []byte {
	var raw bytes.Buffer
	if err := req.Write(&raw); err != nil {
		b.Fatal(err)
	}
	return raw.Bytes()
}

// newUsersTarget is a target whose requests carry the users' raws in
// turn: each connection sends visit requests of one user, then takes
// the next user.
func newUsersTarget(b *testing.B, h http.Handler, raws [][]byte, visit int) *target {
	t := &target{raws: raws, visit: visit}
	t.raw = raws[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	for range loadConnections {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		r := bufio.NewReader(c)
		// One request on each connection first, so that the server has
		// its goroutines and buffers before the clock starts.
		if err := roundTrip(c, r, t.raw); err != nil {
			b.Fatal(err)
		}
		t.conns, t.readers = append(t.conns, c), append(t.readers, r)
		t.visiting = append(t.visiting, visiting{raw: t.raw})
	}
	return t
}

// run sends n requests over all the connections at once.
func (t *target) run(b *testing.B, n int) {
	var next atomic.Int64
	latencies := make([][]time.Duration, len(t.conns))
	errs := make([]error, len(t.conns))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range t.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, r, v := t.conns[i], t.readers[i], &t.visiting[i]
			lat := make([]time.Duration, 0, n/len(t.conns)+1)
			for next.Add(1) <= int64(n) {
				if len(t.raws) > 1 {
					if v.left == 0 {
						v.raw, v.left = t.raws[int(t.next.Add(1))%len(t.raws)], t.visit
					}
					v.left--
				}
				t0 := time.Now()
				if err := roundTrip(c, r, v.raw); err != nil {
					errs[i] = err
					return
				}
				lat = append(lat, time.Since(t0))
			}
			latencies[i] = lat
		}()
	}
	wg.Wait()
	t.elapsed += time.Since(start)
	t.requests += n
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	for _, l := range latencies {
		t.latencies = append(t.latencies, l...)
	}
}

// warm sends n requests and forgets what it measured of them.
func (t *target) warm(b *testing.B, n int) {
	t.run(b, n)
	t.elapsed, t.requests, t.latencies = 0, 0, nil
}

func (t *target) rps() float64 { return float64(t.requests) / t.elapsed.Seconds() }

// percentile returns the p-th latency, in microseconds.
func (t *target) percentile(p float64) float64 {
	slices.Sort(t.latencies)
	return float64(t.latencies[min(len(t.latencies)-1, int(p*float64(len(t.latencies))))].Microseconds())
}

// roundTrip sends one request and reads its answer, which must be a 204
// (the application found the session).
func roundTrip(c net.Conn, r *bufio.Reader, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return err
	}
	status, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 204 ")) {
		return fmt.Errorf("answer %q, want 204", strings.TrimSpace(string(status)))
	}
	length := 0
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			length, _ = strconv.Atoi(strings.TrimSpace(string(v)))
		}
	}
	_, err = r.Discard(length)
	return err
}
