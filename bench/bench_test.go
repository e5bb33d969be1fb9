//go:build integration

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/sidecarflag"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/ory/dockertest/v3"
	"gotest.tools/v3/assert"
)

const readyManifest = `name = "bench"
image = "` + images.AgentTestImage + `"
[[egress.routes]]
host = "api.github.com"
[[git.repos]]
name = "app"
url = "ssh://git@git.invalid/acme/app.git"
identity = "{{ID}}"
host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
[supervise]
enabled = true
`

// fourDaemonBottle resolves readyManifest (all four daemons) under a fresh
// state home.
func fourDaemonBottle(t *testing.T) (*manifest.Resolved, statedir.Layout) {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(home+"/id", []byte("placeholder identity\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse([]byte(strings.ReplaceAll(readyManifest, "{{ID}}", home+"/id")), "bench.toml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Resolve(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return r, statedir.Layout{Home: home}
}

// stage prepares and stages r in shape, as up does before it starts
// containers.
func stage(t *testing.T, r *manifest.Resolved, shape sidecarflag.Shape, layout statedir.Layout) *bottle.Plan {
	t.Helper()
	plan, err := bottle.Prepare(bottle.Options{Bottle: r, Shape: shape, Layout: layout, User: compose.OperatorUser(), SidecarImage: sidecarflag.Image(itest.LookupEnv)})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Stage(); err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestBench(t *testing.T) {
	out, ok := os.LookupEnv(OutEnv)
	if !ok {
		t.Skip("a measurement, not a test: run it with `go tool mage bench`")
	}
	env := itest.Require(t)
	env.RequireImage(t, sidecarflag.Image(itest.LookupEnv), "build:sidecars")
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	res := Results{ReadyMs: map[string]Quantiles{}, Chain: map[string]map[string]LoadStat{}, StartupMs: map[string]Startup{},
		IdleMemory: map[string]Memory{}, ImageMB: map[string]float64{}}
	runs := 10
	if v, err := strconv.Atoi(os.Getenv("CLAUDE_BOTTLE_BENCH_READY_RUNS")); err == nil && v > 0 {
		runs = v
	}
	res.ReadyRuns = runs

	t.Run("ready", func(t *testing.T) { measureReady(t, runs, &res) })
	for _, shape := range []sidecarflag.Shape{sidecarflag.Bundle, sidecarflag.Legacy} {
		t.Run("chain-"+string(shape), func(t *testing.T) { measureChain(t, env, shape, &res) })
	}
	t.Run("startup", func(t *testing.T) { measureStartup(t, env, &res) })
	pool, err := dockertest.NewPool("") // the image sizes: pkg/engine does not read them
	assert.NilError(t, err)
	for _, img := range []string{sidecarflag.Image(itest.LookupEnv), images.AgentTestImage, images.AgentImage} {
		if info, err := pool.Client.InspectImage(img); err == nil {
			res.ImageMB[img] = float64(info.Size) / 1e6
		}
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// measureReady brings the same four-daemon bottle up and down, the shapes
// interleaved, and times up: networks, sidecars healthy, agent started and
// provisioned (bottle CA installed).
func measureReady(t *testing.T, runs int, res *Results) {
	r, layout := fourDaemonBottle(t)
	eng, err := lifecycle.Connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = eng.Close() }()
	times := map[sidecarflag.Shape][]float64{}
	for i := range runs + 1 {
		for _, shape := range []sidecarflag.Shape{sidecarflag.Bundle, sidecarflag.Legacy} {
			plan := stage(t, r, shape, layout)
			var log strings.Builder
			start := time.Now()
			err = eng.Up(t.Context(), plan, nil, &log)
			d := time.Since(start)
			if derr := eng.Down(t.Context(), layout, plan.Slug, false); derr != nil {
				t.Fatal(derr)
			}
			if err != nil {
				t.Fatalf("up: %v\n%s", err, log.String())
			}
			if i > 0 { // the first round warms the engine's caches
				times[shape] = append(times[shape], float64(d.Microseconds())/1000)
			}
		}
	}
	// Idle memory of a bottle with all four daemons, in each shape.
	for _, shape := range []sidecarflag.Shape{sidecarflag.Bundle, sidecarflag.Legacy} {
		plan := stage(t, r, shape, layout)
		if err := eng.Up(t.Context(), plan, nil, io.Discard); err != nil {
			t.Fatal(err)
		}
		var cs []string
		if shape == sidecarflag.Bundle {
			cs = []string{names.BundleContainer(plan.Slug)}
		} else {
			for _, d := range compose.Daemons(r.Manifest) {
				cs = append(cs, names.SidecarContainer(d, plan.Slug))
			}
		}
		res.IdleMemory[string(shape)] = idleMemory(t, eng, cs)
		if err := eng.Down(t.Context(), layout, plan.Slug, false); err != nil {
			t.Fatal(err)
		}
	}
	for shape, xs := range times {
		res.ReadyMs[string(shape)] = quantiles(xs)
		t.Logf("ready %s: p50 %.0f ms p90 %.0f ms", shape, res.ReadyMs[string(shape)].P50, res.ReadyMs[string(shape)].P90)
	}
}

func runLoad(t *testing.T, c *itest.Container, args string) LoadStat {
	t.Helper()
	r := c.Exec(t, "/bench/benchload load "+args)
	if r.Code != 0 {
		t.Fatalf("benchload %s: %s%s", args, r.Stdout, r.Stderr)
	}
	var s LoadStat
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("benchload output %q: %v", r.Stdout, err)
	}
	return s
}

// measureChain drives the stand-in's allowed host from a client on the
// bottle's internal network through egress -> pipelock (TLS intercepted
// twice, DLP on), and the same requests from a client on the egress network
// straight to the stand-in.
func measureChain(t *testing.T, env *itest.Env, shape sidecarflag.Shape, res *Results) {
	rig := env.StandinRig(t, itest.RigOptions{Shape: shape, Quiet: true, Manifest: `name = "benchchain"
image = "` + images.AgentTestImage + `"
[[egress.routes]]
host = "` + itest.AllowedHost + `"
`})
	bin := itest.ToolBinary(t, "benchload")
	chainClient := env.Run(t, itest.RunSpec{Name: "bench-chain", Image: images.AgentTestImage, Network: names.InternalNetwork(rig.Plan.Slug),
		Entrypoint: []string{"sleep", "infinity"}, Binds: []string{bin + ":/bench/benchload:ro", rig.Layout.AgentCADir(rig.Plan.Slug) + ":/ca:ro"}})
	directClient := env.Run(t, itest.RunSpec{Name: "bench-direct", Image: images.AgentTestImage, Network: names.EgressNetwork(rig.Plan.Slug),
		Entrypoint: []string{"sleep", "infinity"}, Binds: []string{bin + ":/bench/benchload:ro", rig.CADir + ":/ca:ro"}})
	url := "https://" + itest.AllowedHost + "/"
	cases := []struct{ name, args string }{
		{"small-c1", "-n 2000 -c 1"},
		{"small-c32", "-n 8000 -c 32"},
		{"upload-10MiB", fmt.Sprintf("-n 10 -c 1 -upload %d", 10<<20)},
	}
	// Every body class of the DLP cost budget, 10 MiB each.
	for _, class := range benchload.BodyClasses {
		cases = append(cases, struct{ name, args string }{"upload-10MiB-" + class, fmt.Sprintf("-n 3 -c 1 -upload %d -class %s", 10<<20, class)})
	}
	chain, direct := map[string]LoadStat{}, map[string]LoadStat{}
	for _, c := range cases {
		chain[c.name] = runLoad(t, chainClient, "-url "+url+" -proxy "+names.URL(names.Egress)+" -cacert /ca/ca.pem "+c.args)
		if shape == sidecarflag.Bundle {
			direct[c.name] = runLoad(t, directClient, "-url "+url+" -cacert /ca/ca.pem "+c.args)
		}
		t.Logf("%s %s: chain %+v", shape, c.name, chain[c.name])
	}
	res.Chain[string(shape)] = chain
	if shape == sidecarflag.Bundle {
		res.Chain["direct"] = direct
	}
}

// idleMemory reads every process's RSS and PSS in the sidecar containers
// and the containers' anonymous memory (cgroup v1 or v2).
func idleMemory(t *testing.T, eng *lifecycle.Backend, containers []string) Memory {
	time.Sleep(3 * time.Second) // settle after start-up
	mem := Memory{RSSKiB: map[string]int{}, PSSKiB: map[string]int{}}
	const script = `for p in /proc/[0-9]*; do
  [ -r $p/smaps_rollup ] || continue
  c=$(tr '\0' ' ' < $p/cmdline)
  [ -n "$c" ] || continue
  r=$(awk '/^VmRSS/{print $2}' $p/status); s=$(awk '/^Pss:/{print $2}' $p/smaps_rollup)
  echo "PROC $r $s $c"
done
if [ -r /sys/fs/cgroup/memory/memory.stat ]; then awk '$1=="total_rss"{print "ANON", int($2/1024)}' /sys/fs/cgroup/memory/memory.stat
else awk '$1=="anon"{print "ANON", int($2/1024)}' /sys/fs/cgroup/memory.stat; fi`
	for _, c := range containers {
		out, code, err := eng.Exec(t.Context(), c, "", []string{"sh", "-c", script})
		if err != nil || code != 0 {
			t.Fatalf("read memory of %s: %v %s", c, err, out)
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 4 && f[0] == "PROC" && !strings.Contains(line, "sh -c"):
				rss, _ := strconv.Atoi(f[1])
				pss, _ := strconv.Atoi(f[2])
				name := daemonName(f[3:])
				mem.RSSKiB[name] += rss
				mem.PSSKiB[name] += pss
				mem.TotalRSSKiB += rss
				mem.TotalPSSKiB += pss
			case len(f) == 2 && f[0] == "ANON":
				n, _ := strconv.Atoi(f[1])
				mem.CgroupAnonKiB += n
			}
		}
	}
	t.Logf("idle memory: %+v", mem)
	return mem
}

func daemonName(argv []string) string {
	base := argv[0][strings.LastIndexByte(argv[0], '/')+1:]
	if argv[0] == names.SidecarBinary && len(argv) > 1 {
		return argv[1]
	}
	if base == "docker-init" {
		return "docker-init"
	}
	return base
}

// measureStartup runs each daemon of the sidecars image from exec to its
// first accepted connection, five times, with its staged configuration.
func measureStartup(t *testing.T, env *itest.Env, res *Results) {
	r, layout := fourDaemonBottle(t)
	plan := stage(t, r, sidecarflag.Bundle, layout)
	if err := os.MkdirAll(layout.QueueDir(plan.Slug), 0o777); err != nil {
		t.Fatal(err)
	}
	bin := itest.ToolBinary(t, "benchload")
	var binds []string
	for _, d := range []string{names.Egress, names.Pipelock, names.GitGate} {
		binds = append(binds, layout.DaemonDir(plan.Slug, d)+":"+names.ConfigDir(d)+":ro")
	}
	binds = append(binds, bin+":/bench/benchload:ro", layout.QueueDir(plan.Slug)+":"+names.QueueMount)
	c := env.Run(t, itest.RunSpec{Name: "bench-startup", Image: sidecarflag.Image(itest.LookupEnv), User: compose.OperatorUser(),
		Entrypoint: []string{"sleep", "infinity"}, Binds: binds,
		Env: []string{"EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888", "SUPERVISE_QUEUE_DIR=" + names.QueueMount, "SUPERVISE_BOTTLE_SLUG=" + plan.Slug}})
	for _, d := range []string{names.Egress, names.Pipelock, names.GitGate, names.Supervise} {
		var xs, ys []float64
		for range 5 {
			argv := append([]string{names.SidecarBinary}, names.Argv(d)...)
			r := c.Exec(t, fmt.Sprintf("/bench/benchload startup -addr 127.0.0.1:%d -- %s", names.Port(d), strings.Join(argv, " ")))
			if r.Code != 0 {
				t.Fatalf("%s start-up: %s%s", d, r.Stdout, r.Stderr)
			}
			var v struct {
				Accept      float64 `json:"accept_ms"`
				FirstAnswer float64 `json:"first_answer_ms"`
			}
			if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil {
				t.Fatal(err)
			}
			xs, ys = append(xs, v.Accept), append(ys, v.FirstAnswer)
		}
		res.StartupMs[d] = Startup{Accept: quantiles(xs).P50, FirstAnswer: quantiles(ys).P50}
		t.Logf("%s: accepts %.1f ms, answers %.1f ms after exec (medians of 5)", d, res.StartupMs[d].Accept, res.StartupMs[d].FirstAnswer)
	}
}
