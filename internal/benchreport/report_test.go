package benchreport

import (
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const sampleBench = `goos: linux
BenchmarkScanURLAndHeaders 	   82128	     26669 ns/op	    3905 B/op	      83 allocs/op
BenchmarkScanURLAndHeaders 	   82128	     28000 ns/op	    3905 B/op	      83 allocs/op
BenchmarkScanURLAndHeaders 	   82128	     27000 ns/op	    3905 B/op	      83 allocs/op
BenchmarkScanBody1MB-2       	     211	  11582069 ns/op	  90.53 MB/s	 7645722 B/op	  109952 allocs/op
PASS`

func TestParseMicro(t *testing.T) {
	m := ParseMicro(sampleBench)
	assert.Equal(t, len(m), 2)
	assert.DeepEqual(t, m[0], Micro{Name: "BenchmarkScanURLAndHeaders", NsPerOp: 27000, Runs: 3})
	assert.Equal(t, m[1].MBps, 90.53)
}

func TestEvaluateAndRender(t *testing.T) {
	r := Report{Date: "2026-11-27", Micro: ParseMicro(sampleBench), Docker: Results{
		ReadyRuns: 10,
		ReadyMs:   map[string]Quantiles{"bundle": {P50: 1900, P90: 2100}, "legacy": {P50: 2700, P90: 2900}},
		Chain: map[string]map[string]LoadStat{
			"direct": {"small-c1": {P50us: 300, P99us: 600}, "small-c32": {RPS: 5000}},
			"bundle": {"small-c1": {P50us: 900, P99us: 4000}, "small-c32": {RPS: 3000}, "upload-10MiB": {MiBps: 70}},
		},
		StartupMs:  map[string]Startup{"pipelock": {Accept: 4, FirstAnswer: 70}},
		IdleMemory: map[string]Memory{"bundle": {TotalPSSKiB: 39 << 10, TotalRSSKiB: 58 << 10, PSSKiB: map[string]int{"pipelock": 18 << 10}, RSSKiB: map[string]int{"pipelock": 25 << 10}}},
		ImageMB:    map[string]float64{"claude-bottle-sidecars:latest": 141},
	}}
	r.Evaluate()
	met := map[string]bool{}
	for _, b := range r.Budgets {
		met[b.Name] = b.Met
	}
	assert.Assert(t, met["bottle ready, bundle (warm images)"])
	assert.Assert(t, met["chain added latency p50, c=1"])
	assert.Assert(t, !met["chain added latency p99, c=1"], "3.4 ms added is over 3 ms")
	assert.Assert(t, met["idle memory of the bundle (initd + daemons)"])
	md := r.Markdown()
	assert.Assert(t, is.Contains(md, "| chain added latency p99, c=1 | ≤ 3 ms | 3.40 ms"))
	assert.Assert(t, strings.Contains(md, "**no**"))
	png := filepath.Join(t.TempDir(), "c.png")
	assert.NilError(t, r.Chart(png))
}

// The upload rows' verdicts come from both figures of the same run: ≥ 50
// MiB/s and ≥ 0.7× mitmproxy; without mitmproxy the row says why and is
// not met.
func TestEvaluateAgainstMitmproxy(t *testing.T) {
	d := Results{
		Mitmproxy: MitmproxyInfo{Version: "8.1.1"},
		Chain: map[string]map[string]LoadStat{
			"direct":    {"small-c1": {P50us: 100, P99us: 200}, "upload-10MiB-hex": {MiBps: 300}, "upload-10MiB-text": {MiBps: 300}, "upload-10MiB-json": {MiBps: 300}},
			"mitmproxy": {"small-c1": {P50us: 2100, P99us: 4200}, "upload-10MiB-hex": {MiBps: 60}, "upload-10MiB-text": {MiBps: 100}, "upload-10MiB-json": {MiBps: 60}},
			"bundle": {"small-c1": {P50us: 600, P99us: 1200}, "upload-10MiB-hex": {MiBps: 55}, "upload-10MiB-text": {MiBps: 60},
				"upload-10MiB-json": {MiBps: 90, Errors: 1, Requests: 3, FirstError: "HTTP 403"}, PeakX4Case + "-hex": {Requests: 4}},
		},
		PipelockPeakKiB: map[string]int{"upload-10MiB-hex": 40 << 10, "upload-10MiB-text": 70 << 10, PeakX4Case + "-hex": 100 << 10},
	}
	r := Report{Docker: d}
	r.Evaluate()
	rows := map[string]Budget{}
	for _, b := range r.Budgets {
		rows[b.Name] = b
	}
	assert.Assert(t, rows["10 MiB hex upload through the chain, DLP on"].Met, "55 MiB/s is 0.92× of 60")
	assert.Assert(t, !rows["10 MiB text upload through the chain, DLP on"].Met, "60 MiB/s is 0.6× of 100")
	assert.Assert(t, is.Contains(rows["10 MiB text upload through the chain, DLP on"].Measured, "0.60× mitmproxy's"))
	assert.Assert(t, !rows["10 MiB json upload through the chain, DLP on"].Met, "a failed upload is not met")
	assert.Assert(t, is.Contains(rows["chain added latency p50, c=1"].Measured, "mitmproxy added 2.00 ms: ours = 0.25× mitmproxy's"))
	assert.Assert(t, !rows["pipelock peak RSS, one 10 MiB upload"].Met, "70 MB (text) is over 64 MB")
	assert.Assert(t, rows["pipelock peak RSS, four concurrent 10 MiB uploads"].Met)
	md := r.Markdown()
	assert.Assert(t, is.Contains(md, "| upload-10MiB-hex | MiB/s | 300.0 | 60.0 | 55.0 | 0.92× | 40.0 |"))

	r = Report{Docker: Results{Mitmproxy: MitmproxyInfo{Error: "mitmdump is not installed: apt-get failed"},
		Chain: map[string]map[string]LoadStat{"bundle": {"upload-10MiB-hex": {MiBps: 500}}, "direct": {}}}}
	r.Evaluate()
	assert.Equal(t, len(r.Budgets), 1)
	assert.Assert(t, !r.Budgets[0].Met, "the 0.7× part cannot be checked")
	assert.Assert(t, is.Contains(r.Budgets[0].Measured, "mitmproxy not measured: mitmdump is not installed: apt-get failed"))
	assert.Assert(t, is.Contains(r.Markdown(), "Not measured: mitmdump is not installed"))
}
