package pipelock

import (
	"crypto/tls"
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
	latency.Measure(b, 1, smallGet(c))
}
