package initd

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkInitdIdleRSS reports initd's resident memory while it supervises
// four idle daemons (fakechild stand-ins), as the metric initd-rss-KiB, and
// how long initd takes from exec until all four are running (start-ms).
// Run: go test ./pkg/initd -run '^$' -bench InitdIdleRSS -benchtime 3x
func BenchmarkInitdIdleRSS(b *testing.B) {
	var rss, startMs float64
	for i := 0; i < b.N; i++ {
		binaries(b)
		start := time.Now()
		p := startInitd(b)
		for _, d := range []string{"egress", "pipelock", "git-gate", "supervise"} {
			p.waitOut(b, "["+d+"] ready")
		}
		startMs += float64(time.Since(start).Microseconds()) / 1000
		time.Sleep(200 * time.Millisecond)
		rss += float64(vmRSS(b, p.cmd.Process.Pid))
		_ = p.cmd.Process.Signal(os.Interrupt)
		<-p.done
	}
	b.ReportMetric(rss/float64(b.N), "initd-rss-KiB")
	b.ReportMetric(startMs/float64(b.N), "start-ms")
}

func vmRSS(b *testing.B, pid int) int {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
