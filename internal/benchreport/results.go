package benchreport

import (
	"slices"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
)

// OutEnv names the file TestBench writes its results to; without it the
// test does not run (it measures, it asserts nothing beyond sanity).
const OutEnv = "CLAUDE_BOTTLE_BENCH_OUT"

// Results is what TestBench measures.
type Results struct {
	ReadyRuns  int                            `json:"ready_runs"`
	ReadyMs    map[string]Quantiles           `json:"ready_ms"` // shape -> up to ready
	Chain      map[string]map[string]LoadStat `json:"chain"`    // shape|direct -> case -> result
	StartupMs  map[string]Startup             `json:"startup_ms"`
	IdleMemory map[string]Memory              `json:"idle_memory"` // shape -> memory
	ImageMB    map[string]float64             `json:"image_mb"`
	// Mitmproxy says which mitmdump Chain["mitmproxy"] ran through (the
	// same stand-in origin and load generator as the chain), or why not.
	Mitmproxy MitmproxyInfo `json:"mitmproxy"`
	// PipelockPeakKiB is pipelock's peak RSS (VmHWM, reset before each
	// run) during a chain case: upload-10MiB-<class> one at a time, and
	// PeakX4Case, four concurrent uploads; PipelockPeakErr says why not.
	PipelockPeakKiB map[string]int `json:"pipelock_peak_kib,omitempty"`
	PipelockPeakErr string         `json:"pipelock_peak_error,omitempty"`
	// Faults are the figures of the fault tests (allowlist changes and
	// kill -9 under load), both shapes.
	Faults Faults `json:"faults"`
}

// CasesEnv is the quick mode of `mage bench`: a regular expression of the
// chain cases to run (small-c1, small-c32, upload-10MiB,
// upload-10MiB-<class>, upload-10MiB-x4); only those run, in the bundle
// shape, beside direct and mitmproxy, and nothing else is measured.
const CasesEnv = "CLAUDE_BOTTLE_BENCH_CASES"

// PeakX4Case is the chain case of four concurrent 10 MiB uploads.
const PeakX4Case = "upload-10MiB-x4"

// Startup is a daemon's median time from exec to accepting a connection
// and to answering on it.
type Startup struct {
	Accept      float64 `json:"accept"`
	FirstAnswer float64 `json:"first_answer"`
}

// Quantiles of a sample.
type Quantiles struct {
	P50 float64   `json:"p50"`
	P90 float64   `json:"p90"`
	All []float64 `json:"all"`
}

// LoadStat is one benchload run.
type LoadStat = benchload.LoadResult

// Memory is the idle memory of one bottle's sidecars.
type Memory struct {
	// Processes: daemon -> RSS and PSS in KiB (PSS splits the pages of the
	// shared multi-call binary between the processes mapping it).
	RSSKiB map[string]int `json:"rss_kib"`
	PSSKiB map[string]int `json:"pss_kib"`
	// TotalRSSKiB and TotalPSSKiB sum them; CgroupAnonKiB is the
	// containers' anonymous memory as the kernel accounts it.
	TotalRSSKiB   int `json:"total_rss_kib"`
	TotalPSSKiB   int `json:"total_pss_kib"`
	CgroupAnonKiB int `json:"cgroup_anon_kib"`
}

func quantiles(xs []float64) Quantiles {
	s := slices.Clone(xs)
	slices.Sort(s)
	at := func(p float64) float64 { return s[int(p*float64(len(s)-1)+0.5)] }
	return Quantiles{P50: at(0.5), P90: at(0.9), All: xs}
}
