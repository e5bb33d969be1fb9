package benchreport

import (
	"fmt"
	"strconv"
	"strings"
)

// standardUnits are the metrics ParseMicro reads into Micro's own fields.
var standardUnits = map[string]bool{"ns/op": true, "MB/s": true, "B/op": true, "allocs/op": true}

// parseExtra collects the custom metrics of one benchmark line ("<value>
// <unit>" pairs after the iteration count) into extra[name][unit].
func parseExtra(extra map[string]map[string][]float64, name, line string) {
	f := strings.Fields(line)
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || standardUnits[f[i+1]] {
			continue
		}
		if extra[name] == nil {
			extra[name] = map[string][]float64{}
		}
		extra[name][f[i+1]] = append(extra[name][f[i+1]], v)
	}
}

// gitGateBudgets are git-gate's budgets, from pkg/gitgate's benchmarks.
func (r *Report) gitGateBudgets() []Budget {
	var b []Budget
	// Per core: MB per CPU-second of the scanning process when measured
	// (a shared machine's wall clock says more about its neighbours).
	perCore := func(m Micro) (float64, string) {
		if v, ok := m.Extra["MB/cpu-s"]; ok {
			return v, fmt.Sprintf("%.1f MB per CPU-second (wall clock: %.1f MB/s)", v, m.MBps)
		}
		return m.MBps, fmt.Sprintf("%.1f MB/s", m.MBps)
	}
	if m, ok := r.micro("BenchmarkGateScan"); ok {
		v, text := perCore(m)
		b = append(b, Budget{Name: "git-gate scan of blob content, one core", Target: "≥ 50 MB/s", Measured: text + ", 64 MiB of source-like files", Met: v >= 50,
			Note: "gitleaks rules + known secrets on every blob, tree, commit and tag of the push"})
	}
	if m, ok := r.micro("BenchmarkGateScanOverhead"); ok {
		_, text := perCore(m)
		b = append(b, Budget{Name: "git-gate scan without the gitleaks rules, one core", Target: "(breakdown)", Measured: text, Met: true,
			Note: "rev-list, cat-file, streaming and pkg/dlp's decoding views: what the rules add comes on top"})
	}
	if m, ok := r.micro("BenchmarkGateScan256MB"); ok {
		rss := m.Extra["peak-RSS-MiB"]
		b = append(b, Budget{Name: "git-gate peak RSS scanning a 256 MB push", Target: "< 128 MB", Measured: fmt.Sprintf("%.1f MiB (git cat-file beside it: %.1f MiB; %.1f s)", rss, m.Extra["git-RSS-MiB"], m.NsPerOp/1e9), Met: rss > 0 && rss < 128,
			Note: "the scanning process; cat-file holds one object at a time"})
	}
	if m, ok := r.micro("BenchmarkGateCleanPush10k"); ok {
		b = append(b, Budget{Name: "clean push of a 10,000-file repo through git-gate", Target: "goes through", Measured: fmt.Sprintf("%.1f s", m.NsPerOp/1e9), Met: true,
			Note: "git:// to the gate, every object scanned, forwarded to a local upstream"})
	}
	return b
}
