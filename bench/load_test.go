package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loadConnections is how many keep-alive connections the load generator
// keeps busy at once.
const loadConnections = 64

// BenchmarkLoad serves authenticated requests over loopback HTTP/1.1 with
// net/http's server, from a load generator in the same process that keeps
// 64 connections busy (each sends its next request as soon as the answer
// to the last one is in). Client and server share the machine's cores.
// One op is one request: ns/op is the inverse of the throughput, reported
// as req/s, with the median and 99th percentile latency.
//
// Each store is compared with the bare handler serving the very same
// bytes (the same Cookie header), so that the difference is the session's
// work alone.
func BenchmarkLoad(b *testing.B) {
	with := func(setup func(testing.TB) (http.Handler, *http.Request), h http.Handler) func(testing.TB) (http.Handler, *http.Request) {
		return func(tb testing.TB) (http.Handler, *http.Request) {
			_, req := setup(tb)
			return h, req
		}
	}
	cases := []requestCase{
		{"bare-cookie-request", with(setupCookie, bare)},
		{"endsession-cookie", setupCookie},
		{"bare-id-request", with(setupMemory, bare)},
		{"endsession-memory", setupMemory},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h, req := c.setup(b)
			load(b, h, req)
		})
	}
}

func load(b *testing.B, h http.Handler, req *http.Request) {
	var raw bytes.Buffer
	if err := req.Write(&raw); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	conns := make([]net.Conn, loadConnections)
	for i := range conns {
		if conns[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close()
	}
	// One request on each connection first, so that the server has its
	// goroutines and buffers before the clock starts.
	for _, c := range conns {
		if err := roundTrip(c, bufio.NewReader(c), raw.Bytes()); err != nil {
			b.Fatal(err)
		}
	}

	var next atomic.Int64
	latencies := make([][]time.Duration, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(c)
			lat := make([]time.Duration, 0, b.N/len(conns)+1)
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := roundTrip(c, r, raw.Bytes()); err != nil {
					errs[i] = err
					return
				}
				lat = append(lat, time.Since(t0))
			}
			latencies[i] = lat
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())
	}
	rps := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rps, "req/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	recordPlain(b, map[string]float64{
		"ns/op": float64(elapsed.Nanoseconds()) / float64(b.N),
		"req/s": rps, "p50-µs": pct(0.50), "p99-µs": pct(0.99), "n": float64(b.N),
	})
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
