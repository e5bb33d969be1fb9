// Package latency measures per-operation latency inside Go benchmarks and
// reports p50 and p99 (µs) as custom metrics beside ns/op.
package latency

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// Measure runs op b.N times across b.RunParallel goroutines (parallelism
// per GOMAXPROCS, as b.SetParallelism) after one warm-up call, and reports
// the p50-µs and p99-µs metrics.
func Measure(b *testing.B, parallelism int, op func() error) {
	b.Helper()
	if err := op(); err != nil { // warm connections and caches
		b.Fatal(err)
	}
	b.SetParallelism(parallelism)
	var mu sync.Mutex
	var all []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := op(); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(start))
		}
		mu.Lock()
		all = append(all, local...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}
