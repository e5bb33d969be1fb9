package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/claude-bottle/claude-bottle/internal/benchreport"
)

// Bench measures the budgets of docs/operations.md on this machine (ready time, chain latency and throughput beside Debian's mitmproxy, DLP cost, git-gate scan, idle memory, image sizes) and writes bench/results/<date>.{json,md,png}. CLAUDE_BOTTLE_BENCH_CASES=<regexp> is a quick mode: only those chain cases (e.g. 'small-c1|upload-10MiB-base64$'), beside direct and mitmproxy, written to a temporary directory.
func Bench(ctx context.Context) error {
	mg.SerialCtxDeps(ctx, Build.AgentTest, Build.Agent, Build.Sidecars)
	start := time.Now()
	date := time.Now().UTC().Format("2006-01-02")
	quick := os.Getenv(benchreport.CasesEnv) != ""
	dir := filepath.Join("bench", "results")
	if quick {
		var err error
		if dir, err = os.MkdirTemp("", "cb-bench-quick-"); err != nil {
			return err
		}
		fmt.Fprintf(progress, "bench: quick mode (%s=%s): those chain cases only; the report goes to %s\n", benchreport.CasesEnv, os.Getenv(benchreport.CasesEnv), dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	var micro bytes.Buffer
	if !quick {
		fmt.Fprintln(progress, "bench: Go micro-benchmarks (one core, 5 runs each)")
		// go test's default ten minutes are too few for pkg/dlp's and
		// pkg/pipelock's benchmarks five times over (per-class, old
		// against new, 10 MiB uploads through the chain).
		if err := goCmdTee(ctx, &micro, nil, "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "5", "-cpu", "1", "-timeout", "90m",
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
	}

	fmt.Fprintln(progress, "bench: Docker-backed measurements (ready time, chain beside mitmproxy, memory, start-up)")
	tmp, err := os.CreateTemp("", "cb-bench-*.json")
	if err != nil {
		return err
	}
	_ = tmp.Close()
	defer func() { _ = os.Remove(tmp.Name()) }()
	env := append([]string{"CLAUDE_BOTTLE_INTEGRATION=1", benchreport.OutEnv + "=" + tmp.Name()}, mitmdumpEnv(ctx)...)
	if err := goCmd(ctx, env, "test", "-count=1", "-tags=integration", "-run", "^TestBench$", "-v", "-timeout=20m", "./internal/benchreport/"); err != nil {
		return err
	}
	data, err := os.ReadFile(tmp.Name())
	if err != nil {
		return err
	}
	r := benchreport.Report{Date: date, Machine: machine(ctx), Micro: benchreport.ParseMicro(micro.String())}
	if err := json.Unmarshal(data, &r.Docker); err != nil {
		return fmt.Errorf("bench results: %w", err)
	}
	if !quick {
		if r.Docker.Faults, err = benchFaults(ctx); err != nil {
			return err
		}
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
	if quick {
		fmt.Fprintf(progress, "\nbench (quick): %.0f s; wrote %s.{json,md,png}\n", r.WallSec, base)
	} else {
		fmt.Fprintf(progress, "\nbench: %.0f s; wrote %s.{json,md,png} and %s-micro.txt (benchstat input)\n", r.WallSec, base, base)
	}
	for _, b := range r.Budgets {
		met := "met    "
		if !b.Met {
			met = "NOT MET"
		}
		fmt.Fprintf(progress, "  %s  %-45s %-22s %s\n", met, b.Name, b.Target, b.Measured)
	}
	return nil
}

// mitmdumpEnv makes Debian's mitmproxy available for the comparison
// (scripts/mitmproxy.sh installs it with apt-get when it is missing) and
// passes its path to the bench, or why there is none: the report then
// says so in the rows that need it, and the rest of the bench runs.
func mitmdumpEnv(ctx context.Context) []string {
	fmt.Fprintln(progress, "bench: looking for Debian's mitmproxy (mitmdump), the seed system's egress proxy, to measure our chain beside it")
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("scripts", "mitmproxy.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(progress, &stderr)
	if err := cmd.Run(); err != nil {
		why := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(why, '\n'); i >= 0 {
			why = why[i+1:]
		}
		why = strings.TrimPrefix(why, "claude-bottle: ")
		if why == "" {
			why = err.Error()
		}
		fmt.Fprintf(progress, "bench: no mitmproxy (%s); the report marks the comparison as not measured\n", why)
		return []string{benchreport.MitmdumpErrEnv + "=" + why}
	}
	bin := strings.TrimSpace(stdout.String())
	fmt.Fprintf(progress, "bench: mitmproxy comparison through %s\n", bin)
	return []string{benchreport.MitmdumpEnv + "=" + bin}
}

func machine(ctx context.Context) benchreport.Machine {
	m := benchreport.Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
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
func benchFaults(ctx context.Context) (benchreport.Faults, error) {
	dir, err := os.MkdirTemp("", "cb-faults-")
	if err != nil {
		return benchreport.Faults{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	for _, bundle := range []string{"1", "0"} {
		fmt.Fprintf(progress, "bench: allowlist changes and kill -9 under load, 60 s at c=64 (bundle=%s)\n", bundle)
		if err := goCmd(ctx, []string{"CLAUDE_BOTTLE_INTEGRATION=1", "CLAUDE_BOTTLE_SIDECAR_BUNDLE=" + bundle, benchreport.FaultsOutEnv + "=" + dir,
			"CLAUDE_BOTTLE_FAULTS_DURATION=60s", "CLAUDE_BOTTLE_FAULTS_CONC=64"},
			"test", "-count=1", "-tags=integration", "-run", "^(TestAllowlistChangesUnderLoad|TestDaemonKilledUnderLoad)$", "-v", "-timeout=20m", "./integration/"); err != nil {
			return benchreport.Faults{}, err
		}
	}
	return benchreport.ReadFaults(dir)
}
