package pipelock

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/latency"
)

// BenchmarkChain measures one small HTTPS GET as the agent sends it: to a
// real egress (TLS intercepted, route checked) that forwards through a real
// pipelock (proxy auth, TLS intercepted again, DLP on every part, the
// SSRF-guarded dial) to the stand-in internet, keep-alive on every hop. The
// figure the budget speaks of ("chain added latency") is this minus a
// direct request. Reports p50/p99 in µs and allocations per request (of
// all three servers and the client: one process).
// Run: go test ./pkg/pipelock -run '^$' -bench Chain -benchtime 3000x -cpu 1
// (c1 is meant for -cpu 1; c32 runs 16 goroutines per core, 32 on two cores.)
func BenchmarkChain(b *testing.B) {
	e := newEnv(b, nil)
	addr, bottleCA := newChainCA(b, e)
	proxy, _ := url.Parse("http://" + addr)
	for _, bc := range []struct {
		name string
		par  int
	}{{"c1", 1}, {"c32", 16}} {
		b.Run(bc.name, func(b *testing.B) {
			c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy),
				TLSClientConfig: &tls.Config{RootCAs: bottleCA.Pool()}, MaxIdleConns: 64, MaxIdleConnsPerHost: 64}}
			defer c.CloseIdleConnections()
			b.ReportAllocs()
			cpu0 := cpuTime()
			latency.Measure(b, bc.par, smallGet(c))
			// Process CPU time per request (client, egress, pipelock and
			// the origin together): the figure to compare on a shared
			// machine, where wall-clock latency is noise.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the process' user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// smallGet is the bench's small request: a GET with a query and the
// headers a CLI sends, answered by the stand-in internet without recording.
func smallGet(c *http.Client) func() error {
	return func() error {
		req, _ := http.NewRequest(http.MethodGet, "https://allowed.example.com/repos/acme/app?per_page=100", nil)
		req.Header.Set("User-Agent", "claude-cli/2.0")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Bench-Discard", "1")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}
