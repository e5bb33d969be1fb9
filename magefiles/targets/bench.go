package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/claude-bottle/claude-bottle/bench"
)

// Bench measures the budgets of docs/operations.md on this machine (ready time, chain latency and throughput, DLP cost, git-gate scan, idle memory, image sizes) and writes bench/results/<date>.{json,md,png}.
func Bench(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build.AgentTest, Build.Agent, Build.Sidecars)
	start := time.Now()
	date := time.Now().UTC().Format("2006-01-02")
	dir := filepath.Join("bench", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	fmt.Fprintln(progress, "bench: Go micro-benchmarks (one core, 5 runs each)")
	var micro bytes.Buffer
	if err := goCmdTee(ctx, &micro, nil, "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "5", "-cpu", "1",
		"./pkg/dlp", "./pkg/egress", "./pkg/pipelock", "./pkg/mitm"); err != nil {
		return err
	}
	// git-gate's benchmarks build whole repositories (up to 256 MiB): one
	// iteration each, three runs.
	if err := goCmdTee(ctx, &micro, nil, "test", "-run", "^$", "-bench", "^BenchmarkGate", "-count", "3", "-cpu", "1", "-benchtime", "1x", "-timeout", "30m",
		"./pkg/gitgate"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, date+"-micro.txt"), micro.Bytes(), 0o644); err != nil {
		return err
	}

	fmt.Fprintln(progress, "bench: Docker-backed measurements (ready time, chain, memory, start-up)")
	tmp, err := os.CreateTemp("", "cb-bench-*.json")
	if err != nil {
		return err
	}
	_ = tmp.Close()
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := goCmd(ctx, []string{"CLAUDE_BOTTLE_INTEGRATION=1", bench.OutEnv + "=" + tmp.Name()},
		"test", "-count=1", "-tags=integration", "-run", "^TestBench$", "-v", "-timeout=20m", "./bench/"); err != nil {
		return err
	}
	data, err := os.ReadFile(tmp.Name())
	if err != nil {
		return err
	}
	r := bench.Report{Date: date, Machine: machine(ctx), Micro: bench.ParseMicro(micro.String())}
	if err := json.Unmarshal(data, &r.Docker); err != nil {
		return fmt.Errorf("bench results: %w", err)
	}
	if r.Docker.Faults, err = benchFaults(ctx); err != nil {
		return err
	}
	r.WallSec = time.Since(start).Seconds()
	r.Evaluate()
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	base := filepath.Join(dir, date)
	if err := os.WriteFile(base+".json", append(out, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".md", []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	if err := r.Chart(base + ".png"); err != nil {
		return err
	}
	fmt.Fprintf(progress, "\nbench: %.0f s; wrote %s.{json,md,png} and %s-micro.txt (benchstat input)\n", r.WallSec, base, base)
	for _, b := range r.Budgets {
		met := "met    "
		if !b.Met {
			met = "NOT MET"
		}
		fmt.Fprintf(progress, "  %s  %-45s %-22s %s\n", met, b.Name, b.Target, b.Measured)
	}
	return nil
}

func machine(ctx context.Context) bench.Machine {
	m := bench.Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if eng, err := connect(ctx); err == nil {
		if v, err := eng.Version(ctx); err == nil {
			m.Engine = v
		}
		_ = eng.Close()
	}
	return m
}

// benchFaults runs the fault tests of integration/ in their long form (60 s
// at c=64, an allowlist change every 5 s; kill -9 of each daemon under the
// same load) in both shapes and reads their figures. CI runs the same tests
// for 10 s at c=16.
func benchFaults(ctx context.Context) (bench.Faults, error) {
	dir, err := os.MkdirTemp("", "cb-faults-")
	if err != nil {
		return bench.Faults{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	for _, bundle := range []string{"1", "0"} {
		fmt.Fprintf(progress, "bench: allowlist changes and kill -9 under load, 60 s at c=64 (bundle=%s)\n", bundle)
		if err := goCmd(ctx, []string{"CLAUDE_BOTTLE_INTEGRATION=1", "CLAUDE_BOTTLE_SIDECAR_BUNDLE=" + bundle, bench.FaultsOutEnv + "=" + dir,
			"CLAUDE_BOTTLE_FAULTS_DURATION=60s", "CLAUDE_BOTTLE_FAULTS_CONC=64"},
			"test", "-count=1", "-tags=integration", "-run", "^(TestAllowlistChangesUnderLoad|TestDaemonKilledUnderLoad)$", "-v", "-timeout=20m", "./integration/"); err != nil {
			return bench.Faults{}, err
		}
	}
	return bench.ReadFaults(dir)
}
