//go:build integration

package benchreport

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
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
func stage(t *testing.T, r *manifest.Resolved, shape contract.Shape, layout statedir.Layout) *bottle.Plan {
	t.Helper()
	plan, err := bottle.Prepare(bottle.Options{Bottle: r, Shape: shape, Layout: layout, User: compose.OperatorUser(), SidecarImage: contract.SidecarImage(itest.LookupEnv)})
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
	env.RequireImage(t, contract.SidecarImage(itest.LookupEnv), "build:sidecars")
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	res := Results{ReadyMs: map[string]Quantiles{}, Chain: map[string]map[string]LoadStat{}, StartupMs: map[string]Startup{},
		IdleMemory: map[string]Memory{}, ImageMB: map[string]float64{}}
	runs := 10
	if v, err := strconv.Atoi(os.Getenv("CLAUDE_BOTTLE_BENCH_READY_RUNS")); err == nil && v > 0 {
		runs = v
	}
	res.ReadyRuns = runs

	var only *regexp.Regexp
	if v := os.Getenv(CasesEnv); v != "" {
		var err error
		if only, err = regexp.Compile(v); err != nil {
			t.Fatalf("%s: %v", CasesEnv, err)
		}
	}
	if only != nil {
		// Quick mode: the chosen chain cases in the bundle shape only.
		t.Run("chain-bundle", func(t *testing.T) { measureChain(t, env, contract.Bundle, only, &res) })
	} else {
		t.Run("ready", func(t *testing.T) { measureReady(t, runs, &res) })
		for _, shape := range []contract.Shape{contract.Bundle, contract.Legacy} {
			t.Run("chain-"+string(shape), func(t *testing.T) { measureChain(t, env, shape, nil, &res) })
		}
		t.Run("startup", func(t *testing.T) { measureStartup(t, env, &res) })
		pool, err := dockertest.NewPool("") // the image sizes: pkg/engine does not read them
		assert.NilError(t, err)
		for _, img := range []string{contract.SidecarImage(itest.LookupEnv), images.AgentTestImage, images.AgentImage} {
			if info, err := pool.Client.InspectImage(img); err == nil {
				res.ImageMB[img] = float64(info.Size) / 1e6
			}
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
	times := map[contract.Shape][]float64{}
	for i := range runs + 1 {
		for _, shape := range []contract.Shape{contract.Bundle, contract.Legacy} {
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
	for _, shape := range []contract.Shape{contract.Bundle, contract.Legacy} {
		plan := stage(t, r, shape, layout)
		if err := eng.Up(t.Context(), plan, nil, io.Discard); err != nil {
			t.Fatal(err)
		}
		var cs []string
		if shape == contract.Bundle {
			cs = []string{contract.BundleContainer(plan.Slug)}
		} else {
			for _, d := range compose.Daemons(r.Manifest) {
				cs = append(cs, contract.SidecarContainer(d, plan.Slug))
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

// runLoad runs benchload in c; a run that fails as a whole (its warm-up
// refused, the proxy gone) is one error in the result, so one bad case
// does not cost the rest of the report.
func runLoad(t *testing.T, c *itest.Container, args string) LoadStat {
	t.Helper()
	r := c.Exec(t, "/bench/benchload load "+args)
	if r.Code != 0 {
		msg := strings.TrimSpace(r.Stdout + r.Stderr)
		t.Logf("benchload %s: %s", args, msg)
		return LoadStat{Requests: 1, Errors: 1, FirstError: msg}
	}
	var s LoadStat
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("benchload output %q: %v", r.Stdout, err)
	}
	return s
}

type chainCase struct{ name, args string }

// chainCases are the requests measured through each path. Every body
// class of the DLP cost budget is uploaded in the bundle shape only (the
// budget rows read the bundle); -max-time bounds a slow path's cost to the
// bench.
func chainCases(shape contract.Shape, only *regexp.Regexp) []chainCase {
	cases := []chainCase{
		{"small-c1", "-n 2000 -c 1 -max-time 20s"},
		{"small-c32", "-n 8000 -c 32 -max-time 20s"},
		{"upload-10MiB", fmt.Sprintf("-n 10 -c 1 -upload %d -max-time 20s", 10<<20)},
	}
	if shape == contract.Bundle {
		for _, class := range benchload.BodyClasses {
			cases = append(cases, chainCase{"upload-10MiB-" + class, fmt.Sprintf("-n 3 -c 1 -upload %d -class %s -max-time 15s", 10<<20, class)})
		}
	}
	if only == nil {
		return cases
	}
	var keep []chainCase
	for _, c := range cases {
		if only.MatchString(c.name) {
			keep = append(keep, c)
		}
	}
	return keep
}

// measureChain drives the stand-in's allowed host from a client on the
// bottle's internal network through egress -> pipelock (TLS intercepted
// twice, DLP on), and the same requests from a client on the egress network
// straight to the stand-in and, in the bundle shape, through Debian's
// mitmdump on this host (the seed system's egress proxy, TLS intercepted
// once, the same stand-in origin and load generator).
func measureChain(t *testing.T, env *itest.Env, shape contract.Shape, only *regexp.Regexp, res *Results) {
	rig := env.StandinRig(t, itest.RigOptions{Shape: shape, Quiet: true, Manifest: `name = "benchchain"
image = "` + images.AgentTestImage + `"
[[egress.routes]]
host = "` + itest.AllowedHost + `"
`})
	bin := itest.ToolBinary(t, "benchload")
	chainClient := env.Run(t, itest.RunSpec{Name: "bench-chain", Image: images.AgentTestImage, Network: contract.InternalNetwork(rig.Plan.Slug),
		Entrypoint: []string{"sleep", "infinity"}, Binds: []string{bin + ":/bench/benchload:ro", rig.Layout.AgentCADir(rig.Plan.Slug) + ":/ca:ro"}})
	url := "https://" + itest.AllowedHost + "/"
	cases := chainCases(shape, only)
	chain, direct, viaMitm := map[string]LoadStat{}, map[string]LoadStat{}, map[string]LoadStat{}
	var directClient, mitmClient *itest.Container
	var mitmProxy string
	if shape == contract.Bundle {
		directClient = env.Run(t, itest.RunSpec{Name: "bench-direct", Image: images.AgentTestImage, Network: contract.EgressNetwork(rig.Plan.Slug),
			Entrypoint: []string{"sleep", "infinity"}, Binds: []string{bin + ":/bench/benchload:ro", rig.CADir + ":/ca:ro"}})
		mitmClient, mitmProxy = startMitmdump(t, env, rig, bin, directClient.Gateway[contract.EgressNetwork(rig.Plan.Slug)], res)
	}
	var peak *peakReader
	if shape == contract.Bundle {
		peak = newPeakReader(t, rig)
	}
	for _, c := range cases {
		if strings.HasPrefix(c.name, "upload-") {
			// One upload on each path first, not counted: each proxy's
			// first large body grows its buffers (mitmdump's took seconds).
			warm := fmt.Sprintf("-n 1 -c 1 -upload %d", 10<<20)
			runLoad(t, chainClient, "-url "+url+" -proxy "+contract.URL(contract.Egress)+" -cacert /ca/ca.pem "+warm)
			if mitmClient != nil {
				runLoad(t, mitmClient, "-url "+url+" -proxy "+mitmProxy+" -cacert /mitm/ca.pem "+warm)
			}
			break
		}
	}
	for _, c := range cases {
		measure := func() {
			chain[c.name] = runLoad(t, chainClient, "-url "+url+" -proxy "+contract.URL(contract.Egress)+" -cacert /ca/ca.pem "+c.args)
		}
		if shape == contract.Bundle && strings.HasPrefix(c.name, "upload-10MiB-") {
			peak.during(c.name, measure, res)
		} else {
			measure()
		}
		t.Logf("%s %s: chain %+v", shape, c.name, chain[c.name])
		if directClient != nil {
			direct[c.name] = runLoad(t, directClient, "-url "+url+" -cacert /ca/ca.pem "+c.args)
		}
		if mitmClient != nil {
			viaMitm[c.name] = runLoad(t, mitmClient, "-url "+url+" -proxy "+mitmProxy+" -cacert /mitm/ca.pem "+c.args)
			t.Logf("%s: mitmproxy %+v", c.name, viaMitm[c.name])
		}
	}
	if shape == contract.Bundle && (only == nil || only.MatchString(PeakX4Case)) {
		// Four concurrent uploads of the class that peaked highest alone
		// among those pipelock let through (a refused body stops early).
		class, most := "code", -1
		for _, bc := range benchload.BodyClasses {
			k, ok := res.PipelockPeakKiB["upload-10MiB-"+bc]
			if ok && k > most && chain["upload-10MiB-"+bc].Errors == 0 {
				class, most = bc, k
			}
		}
		name := PeakX4Case + "-" + class
		peak.during(name, func() {
			chain[name] = runLoad(t, chainClient, fmt.Sprintf("-url %s -proxy %s -cacert /ca/ca.pem -n 4 -c 4 -upload %d -class %s", url, contract.URL(contract.Egress), 10<<20, class))
		}, res)
		t.Logf("%s: chain %+v, pipelock peak %d KiB", name, chain[name], res.PipelockPeakKiB[name])
	}
	res.Chain[string(shape)] = chain
	if shape == contract.Bundle {
		res.Chain["direct"] = direct
		if mitmClient != nil {
			res.Chain["mitmproxy"] = viaMitm
		}
	}
}

// startMitmdump runs the host's mitmdump (MitmdumpEnv) listening on the
// egress network's gateway, trusting the stand-in's CA and routing its
// names to it, and a client container on the egress network that trusts
// mitmdump's CA. Without mitmdump it records why in res and returns nil.
func startMitmdump(t *testing.T, env *itest.Env, rig *itest.Rig, bin, gateway string, res *Results) (*itest.Container, string) {
	bin0 := os.Getenv(MitmdumpEnv)
	if bin0 == "" {
		if v, err := exec.LookPath("mitmdump"); err == nil {
			bin0 = v
		}
	}
	if bin0 == "" {
		res.Mitmproxy.Error = "mitmdump is not installed"
		if why := os.Getenv(MitmdumpErrEnv); why != "" {
			res.Mitmproxy.Error += ": " + why
		}
		t.Logf("mitmproxy comparison not measured: %s", res.Mitmproxy.Error)
		return nil, ""
	}
	if gateway == "" {
		res.Mitmproxy.Error = "the egress network has no gateway address for mitmdump to listen on"
		return nil, ""
	}
	m, err := StartMitmdump(t.Context(), MitmdumpOptions{Binary: bin0, ListenHost: gateway, UpstreamCA: filepath.Join(rig.CADir, "ca.pem"),
		Routes: map[string]string{itest.AllowedHost: rig.DNSIP}})
	if err != nil {
		res.Mitmproxy.Error = err.Error()
		t.Logf("mitmproxy comparison not measured: %v", err)
		return nil, ""
	}
	t.Cleanup(func() {
		if log := m.Log(); log != "" {
			t.Logf("mitmdump said: %s", log)
		}
		m.Close()
	})
	res.Mitmproxy.Version = m.Version
	// The client sees only mitmdump's CA certificate (never its key).
	caDir := t.TempDir()
	pem, err := os.ReadFile(m.CACert)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(caDir, "ca.pem"), pem, 0o644); err != nil {
		t.Fatal(err)
	}
	c := env.Run(t, itest.RunSpec{Name: "bench-mitmproxy", Image: images.AgentTestImage, Network: contract.EgressNetwork(rig.Plan.Slug),
		Entrypoint: []string{"sleep", "infinity"}, Binds: []string{bin + ":/bench/benchload:ro", caDir + ":/mitm:ro"}})
	return c, "http://" + m.Addr
}

// peakReader reads pipelock's peak RSS around a run: VmHWM reset
// (clear_refs 5, as pipelock's own user) before, read after.
type peakReader struct {
	t         *testing.T
	rig       *itest.Rig
	container string
	pid, uid  string
	err       error
}

func newPeakReader(t *testing.T, rig *itest.Rig) *peakReader {
	p := &peakReader{t: t, rig: rig, container: rig.SidecarFor(contract.Pipelock)}
	script := `for p in /proc/[0-9]*; do
  set -- $(tr '\0' ' ' < $p/cmdline 2>/dev/null)
  if [ "$1" = "` + contract.SidecarBinary + `" ] && [ "$2" = "` + contract.Pipelock + `" ]; then echo "${p#/proc/} $(awk '/^Uid:/{print $2}' $p/status)"; fi
done`
	out, code, err := rig.Eng.Exec(t.Context(), p.container, "0", []string{"sh", "-c", script})
	f := strings.Fields(out)
	switch {
	case err != nil || code != 0:
		p.err = fmt.Errorf("finding pipelock's process: %v %s", err, out)
	case len(f) != 2:
		p.err = fmt.Errorf("finding pipelock's process: %q", out)
	default:
		p.pid, p.uid = f[0], f[1]
	}
	return p
}

func (p *peakReader) during(name string, run func(), res *Results) {
	if p.err == nil {
		out, code, err := p.rig.Eng.Exec(p.t.Context(), p.container, p.uid, []string{"sh", "-c", "echo 5 > /proc/" + p.pid + "/clear_refs"})
		if err != nil || code != 0 {
			p.err = fmt.Errorf("resetting pipelock's peak RSS: %v %s", err, strings.TrimSpace(out))
		}
	}
	run()
	if p.err != nil {
		res.PipelockPeakErr = p.err.Error()
		return
	}
	out, code, err := p.rig.Eng.Exec(p.t.Context(), p.container, p.uid, []string{"awk", "/^VmHWM:/{print $2}", "/proc/" + p.pid + "/status"})
	k, aerr := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || code != 0 || aerr != nil {
		p.err = fmt.Errorf("reading pipelock's peak RSS: %v %s", err, strings.TrimSpace(out))
		res.PipelockPeakErr = p.err.Error()
		return
	}
	if res.PipelockPeakKiB == nil {
		res.PipelockPeakKiB = map[string]int{}
	}
	res.PipelockPeakKiB[name] = k
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
	if argv[0] == contract.SidecarBinary && len(argv) > 1 {
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
	plan := stage(t, r, contract.Bundle, layout)
	if err := os.MkdirAll(layout.QueueDir(plan.Slug), 0o777); err != nil {
		t.Fatal(err)
	}
	bin := itest.ToolBinary(t, "benchload")
	var binds []string
	for _, d := range []string{contract.Egress, contract.Pipelock, contract.GitGate} {
		binds = append(binds, layout.DaemonDir(plan.Slug, d)+":"+contract.ConfigDir(d)+":ro")
	}
	binds = append(binds, bin+":/bench/benchload:ro", layout.QueueDir(plan.Slug)+":"+contract.QueueMount)
	c := env.Run(t, itest.RunSpec{Name: "bench-startup", Image: contract.SidecarImage(itest.LookupEnv), User: compose.OperatorUser(),
		Entrypoint: []string{"sleep", "infinity"}, Binds: binds,
		Env: []string{"EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888", "SUPERVISE_QUEUE_DIR=" + contract.QueueMount, "SUPERVISE_BOTTLE_SLUG=" + plan.Slug}})
	for _, d := range []string{contract.Egress, contract.Pipelock, contract.GitGate, contract.Supervise} {
		var xs, ys []float64
		for range 5 {
			argv := append([]string{contract.SidecarBinary}, contract.Argv(d)...)
			r := c.Exec(t, fmt.Sprintf("/bench/benchload startup -addr 127.0.0.1:%d -- %s", contract.Port(d), strings.Join(argv, " ")))
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
