package pipelock

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// BenchmarkChainUploadClass sends a 10 MiB upload of every body class
// (internal/benchload) as the agent sends it: to a real egress (TLS
// intercepted, route checked) that forwards through a real pipelock (TLS
// intercepted again, DLP on every part) to the stand-in internet, which
// discards it. Client, egress, pipelock and the origin share this process,
// whose soft memory limit follows the buffer budget as the daemon's does
// (from what the process holds idle, the client's body included).
// Reports the wall rate (MiB/s), the process' CPU time per upload
// (cpu-ms/op: all four together) and the collector's cycles per upload.
// Run: go test ./pkg/pipelock -run '^$' -bench ChainUploadClass -benchtime 3x
func BenchmarkChainUploadClass(b *testing.B) {
	e := newEnv(b, nil)
	addr, bottleCA := newChainCA(b, e)
	proxy, _ := url.Parse("http://" + addr)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: bottleCA.Pool()}}, Timeout: 5 * time.Minute}
	b.Cleanup(c.CloseIdleConnections)
	send := func(ct, ce string, body []byte) error {
		req, _ := http.NewRequest(http.MethodPost, "https://allowed.example.com/upload", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Bench-Discard", "1")
		if ce != "" {
			req.Header.Set("Content-Encoding", ce)
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d: %.200s", resp.StatusCode, msg)
		}
		return nil
	}
	setMemoryLimit(func(string) (string, bool) { return "", false })
	b.Cleanup(func() {
		memLimit.mu.Lock()
		memLimit.follow = false
		memLimit.mu.Unlock()
		debug.SetMemoryLimit(-1)
	})
	gcs := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	for _, class := range benchload.BodyClasses {
		b.Run(class, func(b *testing.B) {
			ct, ce, body, err := benchload.ClassBody(class, 10<<20)
			if err != nil {
				b.Fatal(err)
			}
			if err := send(ct, ce, body); err != nil { // warm up
				b.Fatal(err)
			}
			// The limit follows the budget from what the process holds
			// now: idle daemons, and the client's body, which the daemon
			// would not hold.
			runtime.GC()
			followBudget(func(string) (string, bool) { return "", false })
			var cpu, wall time.Duration
			var cycles uint64
			for b.Loop() {
				metrics.Read(gcs)
				g0, c0, t0 := gcs[0].Value.Uint64(), cpuTime(), time.Now()
				if err := send(ct, ce, body); err != nil {
					b.Fatal(err)
				}
				wall += time.Since(t0)
				cpu += cpuTime() - c0
				metrics.Read(gcs)
				cycles += gcs[0].Value.Uint64() - g0
			}
			b.ReportMetric(float64(b.N*len(body))/(1<<20)/wall.Seconds(), "MiB/s")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(cycles)/float64(b.N), "gc/op")
		})
	}
}
