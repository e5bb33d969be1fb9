package benchreport

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestGitGateBudgets(t *testing.T) {
	out := `BenchmarkGateScan         	       1	1200000000 ns/op	  55.90 MB/s
BenchmarkGateScan         	       1	1300000000 ns/op	  51.60 MB/s
BenchmarkGateScan         	       1	1400000000 ns/op	  47.90 MB/s
BenchmarkGateScanOverhead 	       1	900000000 ns/op	  60.00 MB/s	       120.0 MB/cpu-s
BenchmarkGateScan256MB    	       1	9000000000 ns/op	  29.83 MB/s	        35.00 git-RSS-MiB	        61.50 peak-RSS-MiB
BenchmarkGateScan256MB    	       1	9500000000 ns/op	  28.26 MB/s	        36.00 git-RSS-MiB	        60.25 peak-RSS-MiB
BenchmarkGateCleanPush10k 	       1	4200000000 ns/op
`
	r := Report{Micro: ParseMicro(out)}
	m, ok := r.micro("BenchmarkGateScan256MB")
	assert.Assert(t, ok)
	assert.Equal(t, m.Extra["peak-RSS-MiB"], 61.5)
	assert.Equal(t, m.Extra["git-RSS-MiB"], 36.0)
	r.Evaluate()
	got := map[string]Budget{}
	for _, b := range r.Budgets {
		got[b.Name] = b
	}
	scan := got["git-gate scan of blob content, one core"]
	assert.Assert(t, scan.Met && strings.HasPrefix(scan.Measured, "51.6 MB/s"), "%+v", scan)
	over := got["git-gate scan without the gitleaks rules, one core"]
	assert.Assert(t, strings.HasPrefix(over.Measured, "120.0 MB per CPU-second (wall clock: 60.0 MB/s)"), "%+v", over)
	rss := got["git-gate peak RSS scanning a 256 MB push"]
	assert.Assert(t, rss.Met && strings.HasPrefix(rss.Measured, "61.5 MiB"), "%+v", rss)
	assert.Equal(t, got["clean push of a 10,000-file repo through git-gate"].Measured, "4.2 s")
}
