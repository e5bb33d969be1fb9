package dlp

import (
	"bytes"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// classBody returns a body of one class (internal/benchload generates the
// classes, the same bodies the chain benchmark uploads) as pipelock hands
// it to the scanner: its Content-Encoding undone.
func classBody(tb testing.TB, class string, n int) (contentType string, sent, decoded []byte) {
	tb.Helper()
	ct, ce, body, err := benchload.ClassBody(class, n)
	if err != nil {
		tb.Fatal(err)
	}
	dec, err := undoEncoding(ce, body)
	if err != nil {
		tb.Fatal(err)
	}
	return ct, body, dec
}

// undoEncoding undoes a Content-Encoding with the decoders pipelock uses
// for a request body (pkg/pipelock decoderStream: klauspost/compress's gzip
// and zlib), so that the benchmark's figure is what pipelock spends.
func undoEncoding(ce string, body []byte) ([]byte, error) {
	var r io.Reader
	var err error
	switch ce {
	case "":
		return body, nil
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return nil, io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// BenchmarkScanBodyClass measures the scanner per body class (budget:
// ≥ 50 MB/s per core on every class, docs/operations.md "Budgets"). A
// compressed class is decoded and scanned inside the loop, and its rate is
// of the bytes sent. Run:
// go test ./pkg/dlp -run '^$' -bench BodyClass -cpu 1
func BenchmarkScanBodyClass(b *testing.B) { benchScanClasses(b, scanner(b, Options{})) }

// benchScanClasses runs s over a 1 MiB body of every class, reporting
// cpuMB/s beside the wall rate.
func benchScanClasses(b *testing.B, s *Scanner) {
	for _, class := range benchload.ScanClasses {
		ct, ce, body, err := benchload.ClassBody(class, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(class, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
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
			// The machine may be shared: CPU time of this process is the
			// per-core figure the budget is about; MB/s is wall time.
			if cpu := (cpuTime() - start).Seconds(); cpu > 0 {
				b.ReportMetric(float64(n*len(body))/cpu/1e6, "cpuMB/s")
			}
		})
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// BenchmarkReferenceByteLoop is the speed of this machine for the
// simplest per-byte work (one table lookup per byte): the scanner's figures
// read against it on a shared or slow machine.
func BenchmarkReferenceByteLoop(b *testing.B) {
	buf := randomBytes(1 << 20)
	b.SetBytes(int64(len(buf)))
	n := 0
	for b.Loop() {
		for _, c := range buf {
			if isB64[c] {
				n++
			}
		}
	}
	if n < 0 {
		b.Fatal(n)
	}
}
