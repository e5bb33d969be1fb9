package egress

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/routes"
)

// The benchmarks compare one small HTTPS GET three ways on loopback:
// direct to the server, through the stand-in upstream proxy only, and
// through egress (interception, route check) plus that proxy. Egress' own
// cost is the difference between the last two. Each reports p50/p99 in µs.
// Run: go test ./pkg/egress -run '^$' -bench . -benchtime 3000x

func benchClient(proxy *url.URL, roots *tls.Config, dial string) *http.Client {
	tr := &http.Transport{TLSClientConfig: roots, MaxIdleConnsPerHost: 64, MaxIdleConns: 64}
	if proxy != nil {
		tr.Proxy = http.ProxyURL(proxy)
	}
	if dial != "" {
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, dial)
		}
	}
	return &http.Client{Transport: tr}
}

func runLatency(b *testing.B, c *http.Client, u string) {
	b.Helper()
	get := func() time.Duration {
		start := time.Now()
		resp, err := c.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	get() // warm the connections and the leaf cache
	var mu sync.Mutex
	var d []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			local = append(local, get())
		}
		mu.Lock()
		d = append(d, local...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(d)
	if len(d) > 0 {
		b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
	}
}

func benchModes(b *testing.B, parallelism int) {
	h := newHarness(b, []routes.Route{{Host: "bench.example.com"}})
	u := "https://bench.example.com/small"
	b.Run("direct", func(b *testing.B) {
		b.SetParallelism(parallelism)
		runLatency(b, benchClient(nil, &tls.Config{RootCAs: h.upCA.Pool()}, h.backendAddr), u)
	})
	b.Run("upstream-proxy-only", func(b *testing.B) {
		b.SetParallelism(parallelism)
		runLatency(b, benchClient(h.fakeProxyURL, &tls.Config{RootCAs: h.upCA.Pool()}, ""), u)
	})
	b.Run("egress", func(b *testing.B) {
		b.SetParallelism(parallelism)
		runLatency(b, benchClient(h.egressURL, &tls.Config{RootCAs: h.bottleCA.Pool()}, ""), u)
	})
}

// BenchmarkHTTPSConc1 runs at concurrency 1 (parallelism 1 on GOMAXPROCS
// goroutines would be 2, so the sub-benchmarks use -cpu 1 semantics via
// SetParallelism(1) and are meant to be run with -cpu 1).
func BenchmarkHTTPSConc1(b *testing.B) { benchModes(b, 1) }

// BenchmarkHTTPSConc32 runs 16 goroutines per core: 32 on these 2-core machines.
func BenchmarkHTTPSConc32(b *testing.B) { benchModes(b, 16) }
