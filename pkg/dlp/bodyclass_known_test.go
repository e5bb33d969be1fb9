package dlp

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// BenchmarkScanBodyClassKnown is BenchmarkScanBodyClass for a bottle with
// known secrets (a canary, a password, a token; all token-shaped, as
// canaries and most secrets are): the anchored matcher and the forms of each secret
// (secretfp.Forms) in every reading. Run:
// go test ./pkg/dlp -run '^$' -bench BodyClassKnown -cpu 1
func BenchmarkScanBodyClassKnown(b *testing.B) {
	var fps []Fingerprint
	for name, v := range map[string]string{"canary": rtCanary, "password": rtPassword, "token": "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"} {
		fp, err := FingerprintOf(name, v)
		if err != nil {
			b.Fatal(err)
		}
		fps = append(fps, fp)
	}
	s := scanner(b, Options{Known: fps})
	for _, class := range benchload.ScanClasses {
		ct, ce, body, err := benchload.ClassBody(class, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(class, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			start := cpuTime()
			n := 0
			for b.Loop() {
				n++
				dec, err := undoEncoding(ce, body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.ScanBody(ct, dec); err != nil {
					b.Fatal(err)
				}
			}
			if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
				b.ReportMetric(float64(n*len(body))/cpu/1e6, "cpuMB/s")
			}
		})
	}
}
