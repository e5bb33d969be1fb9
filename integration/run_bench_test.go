//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/cli"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// BenchmarkRunReachesClaude measures `claude-bottle run -p` on warm images
// from the call to the first line the claude process prints (the stand-in
// prints as soon as it starts): manifest, workspace mirror, bring-up,
// provisioning, clone through git-gate, exec. Budget: p50 ≤ 2 s. Reported
// as p50-ms and p90-ms (exec-p50-ms: from the bottle provisioned, the
// workspace cloned, to that line); run with -benchtime=Nx. The bring-up of
// the bottle (up's own budget) is most of it.
func BenchmarkRunReachesClaude(b *testing.B) {
	env := itest.Require(b)
	sidecars := contract.SidecarImage(itest.LookupEnv)
	env.RequireImage(b, sidecars, "build:sidecars")
	env.RequireImage(b, images.AgentTestImage, "build:agentTest")
	eng, err := lifecycle.Connect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = eng.Close() }()
	mf := filepath.Join(b.TempDir(), "bottle.toml")
	if err := os.WriteFile(mf, []byte(fmt.Sprintf("name = \"bench\"\nimage = %q\n[claude]\nauth = \"api-key\"\ntoken_ref = \"CB_BENCH_KEY\"\n", images.AgentTestImage)), 0o644); err != nil {
		b.Fatal(err)
	}
	repo := hostRepo(b)
	vars := map[string]string{"CB_BENCH_KEY": fakeCredential("sk-ant-api03-"), contract.ImageEnv: sidecars}
	for _, k := range []string{"DOCKER_HOST", contract.BundleEnv} {
		if v, ok := itest.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	var xs, after []float64
	b.ResetTimer()
	for range b.N {
		home := b.TempDir()
		out := &firstWrite{}
		start := time.Now()
		progress := &stampedWriter{start: start}
		var upDone time.Time
		_, err := cli.Run(context.Background(), eng, statedir.Layout{Home: home}, lookup,
			cli.RunOptions{File: mf, Repo: repo, Prompt: "exit=0 pause=0", Started: func(string) { upDone = time.Now(); progress.Write([]byte("exec claude\n")) }},
			cli.Stdio{In: strings.NewReader(""), Out: out, Err: progress})
		b.Logf("run %d: first line after %s\n%s", len(xs), out.first.Sub(start), progress.String())
		if err != nil {
			b.Fatal(err)
		}
		if out.first.IsZero() {
			b.Fatalf("claude printed nothing: %s", out)
		}
		xs = append(xs, float64(out.first.Sub(start).Milliseconds()))
		after = append(after, float64(out.first.Sub(upDone).Milliseconds()))
	}
	b.StopTimer()
	slices.Sort(xs)
	b.ReportMetric(xs[len(xs)/2], "p50-ms")
	b.ReportMetric(xs[len(xs)*9/10], "p90-ms")
	// From the bottle provisioned (workspace cloned) to claude's first line.
	slices.Sort(after)
	b.ReportMetric(after[len(after)/2], "exec-p50-ms")
}

// stampedWriter prefixes each write with the time since start.
type stampedWriter struct {
	start time.Time
	b     strings.Builder
}

func (w *stampedWriter) Write(p []byte) (int, error) {
	fmt.Fprintf(&w.b, "%6dms %s", time.Since(w.start).Milliseconds(), p)
	return len(p), nil
}

func (w *stampedWriter) String() string { return w.b.String() }
