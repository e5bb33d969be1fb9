package benchreport

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FaultsOutEnv names the directory the fault tests of integration/
// (TestAllowlistChangesUnderLoad, TestDaemonKilledUnderLoad) write their
// figures to, one JSON file per test and shape.
const FaultsOutEnv = "CLAUDE_BOTTLE_FAULTS_OUT"

// ReloadFigures: load through the chain while the allowlist changes.
type ReloadFigures struct {
	DurationS         float64 `json:"duration_s"`
	Concurrency       int     `json:"concurrency"`
	Reloads           int     `json:"reloads"`
	AllowedOK         int     `json:"allowed_ok"`
	AllowedFailed     int     `json:"allowed_failed"`
	BlockedRefused    int     `json:"blocked_refused"`
	BlockedAdmitted   int     `json:"blocked_admitted"`
	P99MsDuringReload float64 `json:"p99_ms_during_reload"`
	P99MsOtherwise    float64 `json:"p99_ms_otherwise"`
	SamplesDuring     int     `json:"samples_during_reload"`
}

// KillFigures: kill -9 of each daemon under load.
type KillFigures struct {
	RecoveryS              map[string][]float64 `json:"recovery_s"`
	AllowedOK              int                  `json:"allowed_ok"`
	AllowedFailedWhileDown int                  `json:"allowed_failed_while_down"`
	BlockedAdmitted        int                  `json:"blocked_admitted"`
	Leaked                 int                  `json:"leaked"`
	FirstFailure           string               `json:"first_failure,omitempty"`
}

// RecoveryP50 is the median recovery over every kill.
func (k KillFigures) RecoveryP50() float64 {
	var all []float64
	for _, xs := range k.RecoveryS {
		all = append(all, xs...)
	}
	if len(all) == 0 {
		return -1
	}
	slices.Sort(all)
	return all[len(all)/2]
}

// Faults are the fault figures of both shapes.
type Faults struct {
	Reload map[string]ReloadFigures `json:"reload,omitempty"` // shape ->
	Kill   map[string]KillFigures   `json:"kill,omitempty"`
}

// ReadFaults loads what the fault tests wrote into dir.
func ReadFaults(dir string) (Faults, error) {
	f := Faults{Reload: map[string]ReloadFigures{}, Kill: map[string]KillFigures{}}
	for _, shape := range []string{"bundle", "legacy"} {
		for _, kind := range []string{"reload-under-load", "kill-under-load"} {
			data, err := os.ReadFile(filepath.Join(dir, kind+"-"+shape+".json"))
			if err != nil {
				return f, err
			}
			if kind == "reload-under-load" {
				var r ReloadFigures
				if err := json.Unmarshal(data, &r); err != nil {
					return f, fmt.Errorf("%s: %w", kind, err)
				}
				f.Reload[shape] = r
			} else {
				var k KillFigures
				if err := json.Unmarshal(data, &k); err != nil {
					return f, fmt.Errorf("%s: %w", kind, err)
				}
				f.Kill[shape] = k
			}
		}
	}
	return f, nil
}

// faultBudgets evaluates the fault budgets.
func (f Faults) budgets(add func(name, target, measured string, met bool, note string)) {
	for _, shape := range []string{"bundle", "legacy"} {
		if r, ok := f.Reload[shape]; ok {
			met := r.AllowedFailed == 0 && r.BlockedAdmitted == 0 && r.P99MsDuringReload <= 2*r.P99MsOtherwise
			add("allowlist change every 5 s under load, "+shape, "0 failed allowed, 0 admitted blocked, p99 during reload ≤ 2× without",
				fmt.Sprintf("%d/%d allowed failed, %d/%d blocked admitted, p99 %.1f ms during %d reloads vs %.1f ms without", r.AllowedFailed, r.AllowedOK+r.AllowedFailed,
					r.BlockedAdmitted, r.BlockedRefused+r.BlockedAdmitted, r.P99MsDuringReload, r.Reloads, r.P99MsOtherwise), met,
				fmt.Sprintf("%.0f s at c=%d", r.DurationS, r.Concurrency))
		}
		if k, ok := f.Kill[shape]; ok {
			var parts []string
			for _, d := range slices.Sorted(maps.Keys(k.RecoveryS)) {
				parts = append(parts, fmt.Sprintf("%s %v s", d, k.RecoveryS[d]))
			}
			p50 := k.RecoveryP50()
			add("kill -9 of a daemon under load: serves again, "+shape, "p50 ≤ 2 s, nothing leaked, 0 blocked admitted",
				fmt.Sprintf("p50 %.2f s (%s); %d blocked admitted; %d requests failed closed while down", p50, strings.Join(parts, ", "), k.BlockedAdmitted, k.AllowedFailedWhileDown),
				p50 >= 0 && p50 <= 2 && k.BlockedAdmitted == 0 && k.Leaked == 0, "the stand-in internet is checked for the canary by the test")
		}
	}
}
