package pipelock

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/latency"
)

// BenchmarkIntercepted measures one small intercepted HTTPS GET through
// pipelock (proxy auth, allowlist, TLS interception, DLP on every part, the
// SSRF-guarded upstream dial) against the stand-in internet on loopback, with
// keep-alive on both sides. Reports p50/p99 in µs.
// Run: go test ./pkg/pipelock -run '^$' -bench Intercepted -benchtime 2000x -cpu 1
func BenchmarkIntercepted(b *testing.B) {
	e := newEnv(b, nil)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(e.proxyURL), TLSClientConfig: &tls.Config{RootCAs: e.pipeCA.Pool()}, MaxIdleConnsPerHost: 64}}
	latency.Measure(b, 1, func() error {
		req, _ := http.NewRequest(http.MethodGet, "https://allowed.example.com/repos/acme/app?per_page=100", nil)
		req.Header.Set("User-Agent", "claude-cli/2.0")
		req.Header.Set("Accept", "application/json")
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
	})
}
