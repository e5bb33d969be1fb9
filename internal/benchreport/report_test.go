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
