package bench

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestMain runs the benchmarks, then prints what they mean: each case's
// overhead over the bare handler and the ratios endsession is held to.
// The summary's lines start with a space or an upper-case word, so
// benchstat skips them.
func TestMain(m *testing.M) {
	code := m.Run()
	printSummary(os.Stdout)
	stopRedis()
	os.Exit(code)
}

// results holds every benchmark's metrics, one map per run (-count).
var results = struct {
	sync.Mutex
	runs map[string][]map[string]float64
}{runs: make(map[string][]map[string]float64)}

// record keeps the metrics of a run of a benchmark that uses b.Loop,
// which is called once per run.
func record(b *testing.B, metrics map[string]float64) {
	results.Lock()
	defer results.Unlock()
	results.runs[b.Name()] = append(results.runs[b.Name()], metrics)
}

// recordPlain keeps the metrics of a run of a benchmark with a plain b.N
// loop, which is called with N = 1 first, then with larger N until the
// last call, which is the one that counts.
func recordPlain(b *testing.B, metrics map[string]float64) {
	results.Lock()
	defer results.Unlock()
	runs := results.runs[b.Name()]
	if b.N == 1 || len(runs) == 0 {
		runs = append(runs, metrics)
	} else {
		runs[len(runs)-1] = metrics
	}
	results.runs[b.Name()] = runs
}

// recordMore adds metrics to the last run of b.
func recordMore(b *testing.B, metrics map[string]float64) {
	results.Lock()
	defer results.Unlock()
	runs := results.runs[b.Name()]
	if len(runs) == 0 {
		results.runs[b.Name()] = []map[string]float64{metrics}
		return
	}
	for k, v := range metrics {
		runs[len(runs)-1][k] = v
	}
}

// measure runs op in a b.Loop and records ns/op, B/op and allocs/op.
func measure(b *testing.B, op func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	skipped = runtime.MemStats{}
	runtime.ReadMemStats(&before)
	for b.Loop() {
		op()
	}
	runtime.ReadMemStats(&after)
	n := float64(b.N)
	record(b, map[string]float64{
		"ns/op":     float64(b.Elapsed().Nanoseconds()) / n,
		"B/op":      float64(after.TotalAlloc-before.TotalAlloc-skipped.TotalAlloc) / n,
		"allocs/op": float64(after.Mallocs-before.Mallocs-skipped.Mallocs) / n,
		"n":         n,
	})
}

// skipped counts the allocations of untimed work in the running benchmark.
var skipped runtime.MemStats

// untimed runs fn with the timer stopped, and leaves its allocations out
// of what measure records, as the testing package does for its own.
func untimed(b *testing.B, fn func()) {
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	skipped.TotalAlloc += after.TotalAlloc - before.TotalAlloc
	skipped.Mallocs += after.Mallocs - before.Mallocs
	b.StartTimer()
}

// median returns the median of metric over the runs of name, and whether
// there was any.
func median(name, metric string) (float64, bool) {
	results.Lock()
	defer results.Unlock()
	var v []float64
	for _, run := range results.runs[name] {
		if x, ok := run[metric]; ok {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// fewest returns the smallest iteration count of any run.
func fewest() float64 {
	results.Lock()
	defer results.Unlock()
	least := 1e18
	for _, runs := range results.runs {
		for _, r := range runs {
			if n, ok := r["n"]; ok {
				least = min(least, n)
			}
		}
	}
	return least
}

// check is one target: a ratio and its bound.
type check struct {
	what   string
	value  float64
	bound  float64
	atMost bool // value ≤ bound; otherwise value ≥ bound
	unit   string
}

func (c check) String() string {
	met := "met"
	if c.atMost && c.value > c.bound || !c.atMost && c.value < c.bound {
		met = "NOT MET"
	}
	op := "≤"
	if !c.atMost {
		op = "≥"
	}
	return fmt.Sprintf("  %-62s %8.3f%s  (target %s %g%s)  %s", c.what, c.value, c.unit, op, c.bound, c.unit, met)
}

func printSummary(w io.Writer) {
	results.Lock()
	names := make([]string, 0, len(results.runs))
	for n := range results.runs {
		names = append(names, n)
	}
	results.Unlock()
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	floor, haveFloor := median("BenchmarkRequest/bare", "ns/op")
	var b strings.Builder
	fmt.Fprintf(&b, "\nSummary of this run: medians over -count runs; overhead is ns/op over BenchmarkRequest/bare\n")
	fmt.Fprintf(&b, "  %-44s %12s %12s %10s %10s\n", "benchmark", "ns/op", "overhead", "B/op", "allocs/op")
	for _, n := range names {
		ns, ok := median(n, "ns/op")
		if !ok {
			continue
		}
		over := "-"
		if haveFloor && (strings.HasPrefix(n, "BenchmarkRequest/") || strings.HasPrefix(n, "BenchmarkUsers/") && !strings.Contains(n, "interleaved")) {
			over = fmt.Sprintf("%.0f", ns-floor)
		}
		bytes, _ := median(n, "B/op")
		allocs, _ := median(n, "allocs/op")
		fmt.Fprintf(&b, "  %-44s %12.0f %12s %10.0f %10.1f\n", n, ns, over, bytes, allocs)
	}
	var checks []check
	overhead := func(c string) (float64, bool) {
		ns, ok := median("BenchmarkRequest/"+c, "ns/op")
		return ns - floor, ok && haveFloor
	}
	if es, ok := overhead("endsession-cookie"); ok {
		if g, ok := overhead("gorilla-cookie"); ok {
			checks = append(checks, check{"cookie store overhead / gorilla CookieStore overhead", es / g, 0.2, true, ""})
			if cold, ok := overhead("endsession-cookie-uncached"); ok {
				checks = append(checks, check{"  the same, first request with a new cookie value (no cache)", cold / g, 0.2, true, ""})
			}
		}
	}
	if es, ok := overhead("endsession-memory"); ok {
		if s, ok := overhead("scs-memory"); ok {
			checks = append(checks, check{"memory store overhead / scs memstore overhead", es / s, 0.1, true, ""})
		}
		allocs, _ := median("BenchmarkRequest/endsession-memory", "allocs/op")
		checks = append(checks, check{"memory store allocations per request", allocs, 12, true, ""})
	}
	if rt, ok := median("BenchmarkRequest/endsession-redis", "redis-round-trips/op"); ok {
		checks = append(checks, check{"Redis round trips per request", rt, 1, true, ""})
	}
	for _, s := range []string{"cookie", "memory", "redis"} {
		lo, ok1 := median("BenchmarkLogout/"+s, "ns/op")
		rq, ok2 := median("BenchmarkRequest/endsession-"+s, "ns/op")
		if ok1 && ok2 {
			checks = append(checks, check{"logout (" + s + ") / 3 authenticated requests (" + s + ")", lo / (3 * rq), 1, true, ""})
		}
	}
	if x, ok := median("BenchmarkCallback/interleaved", "endsession/bare"); ok {
		checks = append(checks, check{"login callback / bare token exchange + verification", x, 1.2, true, ""})
	} else if es, ok := median("BenchmarkCallback/endsession", "ns/op"); ok {
		if bare, ok := median("BenchmarkCallback/bare-exchange-verify", "ns/op"); ok {
			checks = append(checks, check{"login callback / bare token exchange + verification", es / bare, 1.2, true, ""})
		}
	}
	// Many users: 100,000 users' cookies in turn.
	if x, ok := median("BenchmarkUsers/endsession-cookie-interleaved-100k", "cached/uncached"); ok {
		checks = append(checks, check{"100k users: cookie store / its format with no cache (interleaved)", x, 1.05, true, ""})
	}
	if es, ok := median("BenchmarkUsers/endsession-cookie-100k", "ns/op"); ok {
		if un, ok := median("BenchmarkUsers/endsession-cookie-uncached-100k", "ns/op"); ok {
			checks = append(checks, check{"100k users: the same, separate rows", es / un, 1.05, true, ""})
		}
		if g, ok := overhead("gorilla-cookie"); ok {
			checks = append(checks, check{"100k users: cookie store overhead / gorilla CookieStore's (one cookie)", (es - floor) / g, 0.2, true, ""})
		}
		if g, ok := median("BenchmarkUsers/gorilla-cookie-100k", "ns/op"); ok {
			checks = append(checks, check{"100k users: cookie store overhead / gorilla CookieStore's (100k users)", (es - floor) / (g - floor), 0.2, true, ""})
		}
	}
	if es, ok := median("BenchmarkUsers/endsession-memory-100k", "ns/op"); ok {
		if sc, ok := overhead("scs-memory"); ok {
			checks = append(checks, check{"100k users: memory store overhead / scs memstore's (one session)", (es - floor) / sc, 0.1, true, ""})
		}
		if sc, ok := median("BenchmarkUsers/scs-memory-100k", "ns/op"); ok {
			checks = append(checks, check{"100k users: memory store overhead / scs memstore's (100k sessions)", (es - floor) / (sc - floor), 0.1, true, ""})
		}
	}
	for _, c := range []struct {
		name  string
		trips float64
	}{{"fresh-id-token", 1}, {"refresh-for-hint", 2}} {
		bound := c.trips*50 + 10
		for _, p := range []string{"p50-ms", "p90-ms", "p99-ms"} {
			if x, ok := median("BenchmarkLogoutLatency/"+c.name, p); ok {
				checks = append(checks, check{"sign-out, provider 50 ms away, " + c.name + ", " + strings.TrimSuffix(p, "-ms"), x, bound, true, " ms"})
			}
		}
	}
	for _, s := range []string{"cookie", "memory"} {
		if x, ok := median("BenchmarkBackchannelBurst/"+s, "after/before"); ok {
			checks = append(checks, check{"request after 10,000 back-channel logouts / before (" + s + ")", x, 1.1, true, ""})
		}
	}
	if x, ok := median("BenchmarkMemoryFootprint", "of-budget"); ok {
		checks = append(checks, check{"memory store footprint / (1.25 × token bytes + 1 KB)", x, 1, true, ""})
	}
	for _, c := range []struct {
		store string
		bound float64
	}{
		{"endsession-memory-10k-users", 0.90}, {"endsession-cookie-10k-users", 0.90},
		{"endsession-cookie-10k-users-visits-of-8", 0.90},
		{"endsession-cookie-10k-users-cache-192MiB", 0.90}, {"endsession-cookie-uncached-10k-users", 0.90},
		{"endsession-memory", 0.85}, {"endsession-cookie", 0.70},
	} {
		if x, ok := median("BenchmarkLoad/"+c.store, "of-bare"); ok {
			checks = append(checks, check{"load: " + c.store + " throughput / bare handler's", x, c.bound, false, ""})
		}
	}
	if len(checks) > 0 {
		fmt.Fprintf(&b, "Targets, from this run\n")
		if fewest() < 100 {
			fmt.Fprintf(&b, "  (some benchmarks ran fewer than 100 times: these ratios mean nothing)\n")
		}
		for _, c := range checks {
			fmt.Fprintln(&b, c)
		}
	}
	io.WriteString(w, b.String())
}
