package pipelock

import (
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkIntercepted measures one small intercepted HTTPS GET through
// pipelock (proxy auth, allowlist, TLS interception, DLP on every part, the
// SSRF-guarded upstream dial) against the stand-in internet on loopback, with
// keep-alive on both sides. Reports p50/p99 in µs.
// Run: go test ./pkg/pipelock -run '^$' -bench Intercepted -benchtime 2000x -cpu 1
func BenchmarkIntercepted(b *testing.B) {
	e := newEnv(b, nil)
	roots := e.pipeCA.Pool()
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(e.proxyURL), TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: 64}}
	get := func() time.Duration {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, "https://allowed.example.com/repos/acme/app?per_page=100", nil)
		req.Header.Set("User-Agent", "claude-cli/2.0")
		req.Header.Set("Accept", "application/json")
		resp, err := c.Do(req)
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
	get()
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
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}
