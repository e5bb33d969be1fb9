package egress

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/latency"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// The benchmarks compare one small HTTPS GET three ways on loopback:
// direct to the server, through the stand-in upstream proxy only, and
// through egress (interception, route check) plus that proxy. Egress' own
// cost is the difference between the last two. Each reports p50/p99 in µs.
// Run: go test ./pkg/egress -run '^$' -bench HTTPSConc1 -cpu 1 -benchtime 3000x

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

func getOK(c *http.Client, u string) func() error {
	return func() error {
		resp, err := c.Get(u)
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

func benchModes(b *testing.B, parallelism int) {
	h := newHarness(b, []daemoncfg.Route{{Host: "bench.example.com"}})
	u := "https://bench.example.com/small"
	b.Run("direct", func(b *testing.B) {
		latency.Measure(b, parallelism, getOK(benchClient(nil, &tls.Config{RootCAs: h.upCA.Pool()}, h.backendAddr), u))
	})
	b.Run("upstream-proxy-only", func(b *testing.B) {
		latency.Measure(b, parallelism, getOK(benchClient(h.fakeProxyURL, &tls.Config{RootCAs: h.upCA.Pool()}, ""), u))
	})
	b.Run("egress", func(b *testing.B) {
		latency.Measure(b, parallelism, getOK(benchClient(h.egressURL, &tls.Config{RootCAs: h.bottleCA.Pool()}, ""), u))
	})
}

// BenchmarkHTTPSConc1 is meant for -cpu 1: one request at a time.
func BenchmarkHTTPSConc1(b *testing.B) { benchModes(b, 1) }

// BenchmarkHTTPSConc32 runs 16 goroutines per core: 32 on these 2-core machines.
func BenchmarkHTTPSConc32(b *testing.B) { benchModes(b, 16) }
