//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

func sidecarImage(t *testing.T, env *itest.Env) string {
	t.Helper()
	img := contract.SidecarImage(itest.LookupEnv)
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
	c.Signal(t, "SIGTERM")
	code := c.Wait(t, 9*time.Second)
	assert.Equal(t, code, 0, c.Logs(t))
	assert.Assert(t, time.Since(start) < 8*time.Second, "stopped in %s", time.Since(start))
	assert.Assert(t, is.Contains(c.Logs(t), "[initd] exiting with code 0"))
}

// TestBundleAllDaemons runs the bundle as the renderer lays it out for a
// bottle with a repo and supervise: all four daemons under initd with a
// state directory staged by bottle.Prepare. initd health passes only once
// every daemon accepts connections; a daemon killed with SIGKILL is
// restarted by initd (with back-off) while the bundle stays up, and the
// bundle is healthy again afterwards.
func TestBundleAllDaemons(t *testing.T) {
	env := itest.Require(t)
	img := sidecarImage(t, env)
	keyDir := t.TempDir()
	key := filepath.Join(keyDir, "id")
	assert.NilError(t, os.WriteFile(key, []byte("placeholder identity; never used: no upstream is contacted\n"), 0o600))
	src := "name = \"all\"\n[[egress.routes]]\nhost = \"a.example.com\"\n[[git.repos]]\nname = \"app\"\nurl = \"ssh://git@git.invalid/app.git\"\nidentity = \"" + key + "\"\nhost_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\"\n"
	plan, _ := stageBottle(t, src, contract.Bundle, nil)
	svc := plan.Project.Services["sidecars"]
	var binds []string
	for _, v := range svc.Volumes {
		binds = append(binds, v.Bind())
	}
	var envs []string
	for k, v := range svc.Env() {
		if v != nil {
			envs = append(envs, k+"="+*v)
		}
	}
	c := env.Run(t, itest.RunSpec{Name: "all-daemons", Image: img, User: compose.OperatorUser(), Env: envs, Binds: binds})
	c.WaitHealthy(t, 30*time.Second)
	list := c.Exec(t, "/usr/local/bin/claude-bottle-sidecar list")
	assert.Equal(t, strings.Join(strings.Fields(list.Stdout), ","), "egress,pipelock,git-gate,supervise")

	find := c.Exec(t, "for p in /proc/[0-9]*; do if tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '^/usr/local/bin/claude-bottle-sidecar supervise'; then echo ${p#/proc/}; fi; done")
	assert.Equal(t, find.Code, 0, find.Stderr)
	pid := strings.TrimSpace(find.Stdout)
	assert.Assert(t, pid != "" && !strings.Contains(pid, "\n"), "one supervise process: %q", find.Stdout)
	c.Exec(t, "kill -9 "+pid)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if strings.Contains(c.Logs(t), "supervise exited on its own (killed by SIGKILL); restarting it") {
			return poll.Success()
		}
		return poll.Continue("initd has not restarted supervise yet: %s", c.Logs(t))
	}, poll.WithTimeout(15*time.Second))
	assert.Assert(t, c.Running(t), "the bundle stays up while a daemon is restarted: %s", c.Logs(t))
	c.WaitHealthy(t, 30*time.Second)
	again := c.Exec(t, "for p in /proc/[0-9]*; do if tr '\\0' ' ' < $p/cmdline 2>/dev/null | grep -q '^/usr/local/bin/claude-bottle-sidecar supervise'; then echo ${p#/proc/}; fi; done")
	newPID := strings.TrimSpace(again.Stdout)
	assert.Assert(t, newPID != "" && newPID != pid, "a new supervise process: %q (was %s)", again.Stdout, pid)
}
