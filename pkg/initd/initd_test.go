package initd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"
)

// The tests below run the real initd binary against fakechild, a stand-in
// for the sidecar binary (testdata/fakechild), and signal it like the engine
// would.

var bins struct {
	once         sync.Once
	initd, child string
	err          error
}

func binaries(t testing.TB) (initd, child string) {
	t.Helper()
	bins.once.Do(func() {
		dir, err := os.MkdirTemp("", "initd-test-")
		if err != nil {
			bins.err = err
			return
		}
		bins.initd = filepath.Join(dir, "initd")
		bins.child = filepath.Join(dir, "fakechild")
		for out, pkg := range map[string]string{bins.initd: "../../cmd/initd", bins.child: "./testdata/fakechild"} {
			if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
				bins.err = fmt.Errorf("build %s: %w\n%s", pkg, err, msg)
				return
			}
		}
	})
	assert.NilError(t, bins.err)
	return bins.initd, bins.child
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type initdProc struct {
	cmd    *exec.Cmd
	stdout *syncBuf
	stderr *syncBuf
	done   chan struct{}
	code   int
	status string // the status socket
}

func startInitd(t testing.TB, env ...string) *initdProc {
	t.Helper()
	initd, child := binaries(t)
	p := &initdProc{stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan struct{})}
	p.cmd = exec.Command(initd)
	p.status = fmt.Sprintf("@initd-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "CLAUDE_BOTTLE_SIDECAR_BIN=" + child, "CLAUDE_BOTTLE_INITD_GRACE=1s",
		"CLAUDE_BOTTLE_INITD_STATUS=" + p.status}, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	assert.NilError(t, p.cmd.Start())
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *initdProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	assert.NilError(t, p.cmd.Process.Signal(sig))
}

func (p *initdProc) waitOut(t testing.TB, substr string) {
	t.Helper()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(p.stdout.String(), substr) {
			return poll.Success()
		}
		return poll.Continue("stdout has no %q yet:\n%s\nstderr:\n%s", substr, p.stdout.String(), p.stderr.String())
	}, poll.WithTimeout(10*time.Second), poll.WithDelay(20*time.Millisecond))
}

func (p *initdProc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		t.Fatalf("initd did not exit within %s\nstdout:\n%s\nstderr:\n%s", within, p.stdout.String(), p.stderr.String())
		return -1
	}
}

var pidRE = regexp.MustCompile(`\[(\S+)\] ready (\S+) pid=(\d+)`)

func (p *initdProc) pids() map[string][]int {
	out := map[string][]int{}
	for _, m := range pidRE.FindAllStringSubmatch(p.stdout.String(), -1) {
		n, _ := strconv.Atoi(m[3])
		out[m[1]] = append(out[m[1]], n)
	}
	return out
}

func TestInitdStartsAllAndStopsOnSIGTERM(t *testing.T) {
	p := startInitd(t, "EGRESS_TOKEN_1=tok", "EGRESS_TOKEN_2=tok2")
	for _, d := range []string{"egress", "pipelock", "git-gate", "supervise"} {
		p.waitOut(t, "["+d+"] ready "+d)
	}
	// Canonical start order.
	out := p.stdout.String()
	assert.Assert(t, strings.Index(p.stderr.String(), "started egress") < strings.Index(p.stderr.String(), "started pipelock"))
	assert.Assert(t, strings.Index(p.stderr.String(), "started git-gate") < strings.Index(p.stderr.String(), "started supervise"))
	// The bundle's argv table: pipelock serves egress alone, on loopback.
	assert.Assert(t, is.Contains(out, "[pipelock] ready pipelock pid="))
	assert.Assert(t, is.Contains(out, "argv=pipelock run --listen 127.0.0.1:8888 --config /etc/claude-bottle/pipelock/pipelock.yaml"))
	// Every line is prefixed, stderr too.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		assert.Assert(t, regexp.MustCompile(`^\[(egress|pipelock|git-gate|supervise)\] `).MatchString(line), "unprefixed line %q", line)
	}
	for _, d := range []string{"egress", "pipelock", "git-gate", "supervise"} {
		p.waitErr(t, "["+d+"] stderr-line "+d, 10*time.Second)
	}
	// Only egress sees the credential variables.
	p.waitOut(t, "[egress] token-visible egress EGRESS_TOKEN_2")
	assert.Assert(t, is.Contains(out, "[egress] token-visible egress EGRESS_TOKEN_1"))
	assert.Equal(t, strings.Count(out, "token-visible"), 2, out)

	start := time.Now()
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
	assert.Assert(t, time.Since(start) < time.Second, "an orderly stop must not wait for the grace")
	for _, d := range []string{"egress", "pipelock", "git-gate", "supervise"} {
		assert.Assert(t, is.Contains(p.stdout.String(), "["+d+"] term "+d))
	}
}

func TestInitdSIGINTStopsToo(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress")
	p.waitOut(t, "[egress] ready")
	p.signal(t, syscall.SIGINT)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
	assert.Assert(t, is.Contains(p.stdout.String(), "[egress] term egress"), "SIGINT is forwarded as SIGINT and handled")
}

func TestInitdEscalatesToSIGKILL(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock", "FAKE_EGRESS=ignore-term")
	p.waitOut(t, "[pipelock] ready")
	p.waitOut(t, "[egress] ready")
	pid := p.pids()["egress"][0]
	start := time.Now()
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
	elapsed := time.Since(start)
	assert.Assert(t, elapsed >= time.Second, "SIGKILL came before the 1s grace: %s", elapsed)
	assert.Assert(t, is.Contains(p.stdout.String(), "[egress] ignoring-term egress"))
	assert.Assert(t, is.Contains(p.stderr.String(), "egress did not stop within 1s; SIGKILL"))
	assert.Assert(t, is.Contains(p.stderr.String(), "egress stopped (killed by SIGKILL)"))
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the stubborn daemon must be gone")
}

func TestInitdSIGHUPGoesToEgressOnly(t *testing.T) {
	p := startInitd(t)
	p.waitOut(t, "[supervise] ready")
	p.waitOut(t, "[egress] ready")
	p.signal(t, syscall.SIGHUP)
	p.waitOut(t, "[egress] hup egress")
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, strings.Count(p.stdout.String(), "hup "), 1, p.stdout.String())
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
}

func TestInitdSIGUSR1ReloadsPipelockInPlace(t *testing.T) {
	p := startInitd(t)
	for _, d := range []string{"egress", "pipelock", "git-gate", "supervise"} {
		p.waitOut(t, "["+d+"] ready")
	}
	before := p.pids()
	p.signal(t, syscall.SIGUSR1)
	p.waitOut(t, "[pipelock] hup pipelock")
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, strings.Count(p.stdout.String(), "hup "), 1, "only pipelock is told: %s", p.stdout.String())
	assert.DeepEqual(t, p.pids(), before) // nobody restarted: the reload is in place
	assert.Assert(t, !strings.Contains(p.stdout.String(), "term "), "nobody was stopped")
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
}

func (p *initdProc) waitErr(t testing.TB, substr string, within time.Duration) {
	t.Helper()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(p.stderr.String(), substr) {
			return poll.Success()
		}
		return poll.Continue("stderr has no %q yet:\n%s", substr, p.stderr.String())
	}, poll.WithTimeout(within), poll.WithDelay(20*time.Millisecond))
}

func (p *initdProc) statusOf(t testing.TB, daemon string) DaemonStatus {
	t.Helper()
	st, err := QueryStatus(context.Background(), p.status)
	assert.NilError(t, err)
	for _, d := range st.Daemons {
		if d.Name == daemon {
			return d
		}
	}
	t.Fatalf("no %s in %+v", daemon, st)
	return DaemonStatus{}
}

func TestInitdRestartsADeadDaemonWithBackoff(t *testing.T) {
	p := startInitd(t, "FAKE_GIT_GATE=exit-times=3", "FAKE_COUNTER_DIR="+t.TempDir(), "CLAUDE_BOTTLE_INITD_RESTARTS=5/60s/50ms")
	p.waitOut(t, "[git-gate] crashing git-gate 3")
	p.waitErr(t, "restarting it in 200ms (restart 3 within 1m0s, limit 5)", 5*time.Second)
	assert.Assert(t, is.Contains(p.stderr.String(), "git-gate exited on its own (exit code 1); restarting it in 50ms (restart 1"))
	assert.Assert(t, is.Contains(p.stderr.String(), "restarting it in 100ms (restart 2"))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if len(p.pids()["git-gate"]) == 4 {
			return poll.Success()
		}
		return poll.Continue("git-gate not started a fourth time: %s", p.stderr.String())
	}, poll.WithTimeout(5*time.Second))
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if d := p.statusOf(t, "git-gate"); d.State == StateRunning && d.Restarts == 3 {
			return poll.Success()
		}
		return poll.Continue("status: %+v", p.statusOf(t, "git-gate"))
	}, poll.WithTimeout(5*time.Second))
	// The others were never touched.
	for _, d := range []string{"egress", "pipelock", "supervise"} {
		assert.Equal(t, len(p.pids()[d]), 1, d)
		assert.Equal(t, p.statusOf(t, d).Restarts, 0)
		assert.Assert(t, !strings.Contains(p.stdout.String(), "term "+d), "%s was stopped", d)
	}
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
}

func TestInitdRestartsAKilledDaemon(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock")
	p.waitOut(t, "[pipelock] ready")
	p.waitOut(t, "[egress] ready")
	first := p.pids()["pipelock"][0]
	start := time.Now()
	assert.NilError(t, syscall.Kill(first, syscall.SIGKILL)) // kill -9, as an attacker or the OOM killer would
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if len(p.pids()["pipelock"]) == 2 {
			return poll.Success()
		}
		return poll.Continue("pipelock not back: %s", p.stderr.String())
	}, poll.WithTimeout(5*time.Second), poll.WithDelay(10*time.Millisecond))
	t.Logf("pipelock back %s after kill -9", time.Since(start))
	assert.Assert(t, is.Contains(p.stderr.String(), "pipelock exited on its own (killed by SIGKILL); restarting it in 100ms"))
	d := p.statusOf(t, "pipelock")
	assert.Equal(t, d.Restarts, 1)
	assert.Equal(t, d.PID, p.pids()["pipelock"][1])
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
}

func TestInitdGivesUpOnACrashLoopAndTurnsUnhealthy(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock", "FAKE_EGRESS=listen", "FAKE_PIPELOCK=exit-times=1000",
		"FAKE_COUNTER_DIR="+t.TempDir(), "CLAUDE_BOTTLE_INITD_RESTARTS=3/30s/10ms")
	p.waitErr(t, "pipelock exited on its own (exit code 1); it exited 4 times within 30s: crash-looping, not restarting it", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, len(p.pids()["pipelock"]), 4, "three restarts, then none")
	select {
	case <-p.done:
		t.Fatalf("initd exited: a crash loop leaves it up and unhealthy, not restarted by the engine forever: %s", p.stderr.String())
	default:
	}
	d := p.statusOf(t, "pipelock")
	assert.Equal(t, d.State, StateCrashLooping)
	assert.Equal(t, d.Restarts, 3)
	assert.Equal(t, p.statusOf(t, "egress").State, StateRunning)

	code, out := runHealth(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock", "CLAUDE_BOTTLE_INITD_STATUS="+p.status)
	assert.Equal(t, code, 1)
	assert.Assert(t, is.Contains(out, "initd: egress=running restarts=0 pipelock=crash-looping restarts=3"))
	assert.Assert(t, is.Contains(out, "pipelock crash-looping (exited on its own (exit code 1))"))
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
}

func TestInitdBadRestartPolicy(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_INITD_RESTARTS=forever")
	assert.Equal(t, p.wait(t, 5*time.Second), 2)
	assert.Assert(t, is.Contains(p.stderr.String(), "want LIMIT/WINDOW[/BASE]"))
}

func TestRestartPolicyDelay(t *testing.T) {
	p := RestartPolicy{Base: 100 * time.Millisecond, Max: time.Second}.withDefaults()
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, p.delay(n))
	}
	assert.DeepEqual(t, got, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second})
	for _, bad := range []string{"", "5", "0/1m", "5/-1s", "5/1m/2h", "x/1m"} {
		_, err := ParseRestartPolicy(bad)
		assert.Assert(t, err != nil, bad)
	}
	got2, err := ParseRestartPolicy("3/10s/50ms")
	assert.NilError(t, err)
	assert.Equal(t, got2.Limit, 3)
	assert.Equal(t, got2.Base, 50*time.Millisecond)
}

func runHealth(t *testing.T, env ...string) (int, string) {
	t.Helper()
	initd, _ := binaries(t)
	cmd := exec.Command(initd, "health")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	assert.NilError(t, err)
	return 0, string(out)
}

func TestInitdUnknownDaemon(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,mitmdump")
	assert.Equal(t, p.wait(t, 5*time.Second), 2)
	assert.Assert(t, is.Contains(p.stderr.String(), `unknown daemon "mitmdump"`))
}

func TestInitdBadGrace(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_INITD_GRACE=30s")
	assert.Equal(t, p.wait(t, 5*time.Second), 2)
	assert.Assert(t, is.Contains(p.stderr.String(), "want a duration between 1ms and 9s"))
}

func TestInitdNoDaemonsIdles(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=")
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(p.stderr.String(), "idling until signalled") {
			return poll.Success()
		}
		return poll.Continue("not idling yet")
	})
	select {
	case <-p.done:
		t.Fatalf("initd exited while idle: %s", p.stderr.String())
	case <-time.After(300 * time.Millisecond):
	}
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 2*time.Second), 0)
}

func TestInitdMissingBinary(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_BIN=/nonexistent/sidecar")
	assert.Equal(t, p.wait(t, 5*time.Second), 127)
	assert.Assert(t, is.Contains(p.stderr.String(), "start egress:"))
}

// zombies lists the zombie children of pid.
func zombies(t *testing.T, pid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	assert.NilError(t, err)
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) >= 2 && fields[0] == "Z" && fields[1] == strconv.Itoa(pid) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestInitdReapsOrphans(t *testing.T) {
	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=supervise", "FAKE_SUPERVISE=orphans")
	p.waitOut(t, "[supervise] orphans-spawned")
	initdPid := p.cmd.Process.Pid
	// The orphans finish after 0.2 s; give the reaper a moment, then no
	// zombie may be left under initd.
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if z := zombies(t, initdPid); len(z) > 0 {
			return poll.Continue("zombies under initd: %v", z)
		}
		if !strings.Contains(p.stderr.String(), "started supervise") {
			return poll.Continue("not started")
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second), poll.WithDelay(100*time.Millisecond))
	// The orphans really were initd's to reap (not the host init's).
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if n := strings.Count(p.stderr.String(), "reaped orphan pid"); n < 5 {
			return poll.Continue("%d of 5 orphans reaped by initd", n)
		}
		return poll.Success()
	}, poll.WithTimeout(5*time.Second))
	assert.DeepEqual(t, zombies(t, initdPid), []string(nil))
	// The supervised daemon is unaffected by its orphans being reaped.
	assert.Assert(t, !strings.Contains(p.stderr.String(), "exited on its own"))
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
}

func TestInitdHealth(t *testing.T) {
	health := func(env ...string) (int, string) {
		return runHealth(t, append(env, "CLAUDE_BOTTLE_INITD_STATUS=@initd-test-nobody")...)
	}
	code, out := health("CLAUDE_BOTTLE_SIDECAR_DAEMONS=")
	assert.Equal(t, code, 0, out)

	code, out = health("CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock")
	assert.Equal(t, code, 1)
	assert.Assert(t, is.Contains(out, "egress (127.0.0.1:9099)"))
	assert.Assert(t, is.Contains(out, "pipelock (127.0.0.1:8888)"))

	p := startInitd(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock", "FAKE_EGRESS=listen", "FAKE_PIPELOCK=listen")
	p.waitOut(t, "[egress] listening")
	p.waitOut(t, "[pipelock] listening")
	code, out = health("CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock")
	assert.Equal(t, code, 0, out)
	code, out = runHealth(t, "CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock", "CLAUDE_BOTTLE_INITD_STATUS="+p.status)
	assert.Equal(t, code, 0, out)
	assert.Assert(t, is.Contains(out, "initd: egress=running restarts=0 pipelock=running restarts=0"))
	code, out = health("CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress,pipelock,supervise")
	assert.Equal(t, code, 1, "one daemon down means unhealthy")
	assert.Assert(t, is.Contains(out, "supervise (127.0.0.1:9100)"))
	assert.Assert(t, !strings.Contains(out, "egress ("))
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, p.wait(t, 5*time.Second), 0)
}

func TestHealthFunc(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	assert.NilError(t, Health(ctx, "127.0.0.1", nil))
}
