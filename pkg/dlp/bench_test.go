package dlp

import (
	"net/http"
	"strings"
	"testing"
)

// Benchmarks of the budgets in docs/operations.md ("Budgets"): URL + headers ≤ 50 µs, bodies
// ≥ 50 MB/s per core on code/JSON. Run: go test ./pkg/dlp -run '^$' -bench . -cpu 1

func codeBody(n int) []byte {
	chunk := `{"path":"pkg/egress/proxy.go","content":"package egress\n\nimport (\n\t\"context\"\n\t\"net/http\"\n)\n\n// forward applies the route table to one request.\nfunc (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {\n\troute := p.table.Load().Lookup(r.Host)\n\tif route == nil {\n\t\tp.deny(w, r, \"host-not-allowed\")\n\t\treturn\n\t}\n}\n","sha":"5d41402abc4b2a76b9719d911017c592"}` + "\n"
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(chunk)
	}
	return []byte(b.String()[:n])
}

func BenchmarkScanURLAndHeaders(b *testing.B) {
	s := scanner(b, Options{})
	h := http.Header{
		"User-Agent":     {"claude-cli/2.0.14 (external, cli)"},
		"Accept":         {"application/json"},
		"Content-Type":   {"application/json"},
		"Anthropic-Beta": {"prompt-caching-2024-07-31"},
		"X-Request-Id":   {"3f2b9c1e-7a4d-4e8b-9f0a-1c2d3e4f5a6b"},
	}
	parts := []Part{{Name: "host", Text: "api.github.com"}, {Name: "path", Text: "/repos/acme/app/pulls/42/files"}, {Name: "query", Text: "per_page=100&page=2"}}
	for k, vs := range h {
		for _, v := range vs {
			parts = append(parts, Part{Name: "header " + k, Text: v})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if fs := s.ScanParts(parts); len(fs) > 0 {
			b.Fatal(fs)
		}
	}
}

func benchBody(b *testing.B, n int) {
	s := scanner(b, Options{})
	body := codeBody(n)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ScanBody("application/json", body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanBody4KB(b *testing.B) { benchBody(b, 4<<10) }
func BenchmarkScanBody1MB(b *testing.B) { benchBody(b, 1<<20) }

// BenchmarkScanPart is the cost of scanning one request part of each kind.
func BenchmarkScanPart(b *testing.B) {
	s := scanner(b, Options{})
	for _, p := range []Part{
		{Name: "host", Text: "registry.npmjs.org"},
		{Name: "path", Text: "/repos/acme/app/pulls/42/files"},
		{Name: "query", Text: "per_page=100&page=2&sort=updated"},
		{Name: "header User-Agent", Text: "claude-cli/2.0.14 (external, cli)"},
	} {
		name := p.Name
		if i := strings.IndexByte(name, ' '); i > 0 {
			name = name[:i]
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if fs := s.ScanParts([]Part{p}); len(fs) > 0 {
					b.Fatal(fs)
				}
			}
		})
	}
}
