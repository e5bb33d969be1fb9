//go:build integration

package integration

import (
	"strings"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/sidecarflag"
)

func sidecarImage(t *testing.T, env *itest.Env) string {
	t.Helper()
	img := sidecarflag.Image(itest.LookupEnv)
	env.RequireImage(t, img, "build:sidecars")
	return img
}

// TestSidecarsImageProbe checks that the image carries what the daemons run
// on: initd as PID 1, the multi-call binary, git and ssh, all executable by
// the unprivileged image user.
func TestSidecarsImageProbe(t *testing.T) {
	env := itest.Require(t)
	img := sidecarImage(t, env)
	c := env.Run(t, itest.RunSpec{Name: "probe", Image: img, Entrypoint: []string{"sleep", "infinity"}})
	res := c.Exec(t, `set -e
id -u
/usr/local/bin/initd --help | head -1
/usr/local/bin/claude-bottle-sidecar --help | tail -1
git --version
ssh -V 2>&1
git init -q /tmp/r && git -C /tmp/r -c user.email=p@b -c user.name=p commit -q --allow-empty -m probe && git -C /tmp/r rev-list --count HEAD
test -x /usr/lib/git-core/git-upload-pack && test -x /usr/lib/git-core/git-receive-pack && echo packs-ok
`)
	assert.Equal(t, res.Code, 0, res.Stdout+res.Stderr)
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	assert.Equal(t, lines[0], "10001", "runs unprivileged by default")
	assert.Assert(t, is.Contains(res.Stdout, "usage: initd [health]"))
	assert.Assert(t, is.Contains(res.Stdout, "built-in daemons:"))
	assert.Assert(t, is.Contains(res.Stdout, "git version 2."))
	assert.Assert(t, is.Contains(res.Stdout, "OpenSSH_"))
	assert.Assert(t, is.Contains(res.Stdout, "packs-ok"))
}

// TestSidecarsNoDaemonsSmoke runs the image as the bundle does, with no
// daemon selected: initd starts, stays up, reports healthy, and exits 0 on
// SIGTERM well within compose's 10 s stop period.
func TestSidecarsNoDaemonsSmoke(t *testing.T) {
	env := itest.Require(t)
	img := sidecarImage(t, env)
	c := env.Run(t, itest.RunSpec{Name: "idle", Image: img, Env: []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS="}})
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(c.Logs(t), "idling until signalled") {
			return poll.Success()
		}
		return poll.Continue("initd not idling yet: %s", c.Logs(t))
	}, poll.WithTimeout(15*time.Second))
	time.Sleep(time.Second)
	assert.Assert(t, c.Running(t), "initd must stay up with no daemons: %s", c.Logs(t))
	health := c.Exec(t, "/usr/local/bin/initd health; echo rc=$?")
	assert.Assert(t, is.Contains(health.Stdout, "rc=0"), health.Stdout+health.Stderr)
	top := c.Exec(t, "cat /proc/1/cmdline | tr '\\0' ' '")
	assert.Equal(t, strings.TrimSpace(top.Stdout), "/usr/local/bin/initd", "initd is PID 1")

	start := time.Now()
	c.Signal(t, dc.SIGTERM)
	code := c.Wait(t, 9*time.Second)
	assert.Equal(t, code, 0, c.Logs(t))
	assert.Assert(t, time.Since(start) < 8*time.Second, "stopped in %s", time.Since(start))
	assert.Assert(t, is.Contains(c.Logs(t), "[initd] exiting with code 0"))
}

// TestSidecarsFailClosedWithoutDaemons: selecting a daemon the binary does not
// have yet must not pretend to work: initd sees it exit and tears the bundle
// down with its exit code.
func TestSidecarsFailClosedWithoutDaemons(t *testing.T) {
	env := itest.Require(t)
	img := sidecarImage(t, env)
	list := env.Run(t, itest.RunSpec{Name: "list", Image: img, Entrypoint: []string{"sleep", "infinity"}}).Exec(t, "/usr/local/bin/claude-bottle-sidecar list")
	built := map[string]bool{}
	for _, d := range strings.Fields(list.Stdout) {
		built[d] = true
	}
	missing := ""
	for _, d := range []string{"egress", "pipelock", "git-gate", "supervise"} {
		if !built[d] {
			missing = d
			break
		}
	}
	if missing == "" {
		t.Skip("every daemon is built in; nothing left that could pretend (covered by the daemon tests)")
	}
	c := env.Run(t, itest.RunSpec{Name: "failclosed", Image: img, Env: []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS=" + missing}})
	code := c.Wait(t, 15*time.Second)
	assert.Equal(t, code, 2, c.Logs(t))
	logs := c.Logs(t)
	assert.Assert(t, is.Contains(logs, `daemon "`+missing+`" is not built into this binary`))
	assert.Assert(t, is.Contains(logs, missing+" exited on its own (exit code 2); tearing the bundle down"))
}
