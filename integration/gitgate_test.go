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

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// planted are secrets shaped like real credentials (none is live), declared
// to the bottle as [dlp] canaries.
var planted = map[string]string{
	"PLANTED_ANTHROPIC": "sk-ant-api03-" + strings.Repeat("Xq9vT2mLw8ZpK4rB", 6)[:93] + "AA",
	"PLANTED_AWS":       "AKIAQ7R2XNPLW3JKD5VT",
	"PLANTED_GENERIC":   "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0",
}

// stageGate prepares a bottle whose repo "app" points at the test upstream
// with the given pinned host key, and returns its git-gate directory.
func stageGate(t *testing.T, identity, hostKey string) string {
	t.Helper()
	src := "name = \"gg\"\n[dlp]\ncanaries = [\"PLANTED_ANTHROPIC\", \"PLANTED_AWS\", \"PLANTED_GENERIC\"]\n[[git.repos]]\nname = \"app\"\nurl = \"ssh://git@git.upstream.test/srv/git/app.git\"\nidentity = \"" + identity + "\"\nhost_key = \"" + hostKey + "\"\n"
	plan, layout := stageBottle(t, src, contract.ShapeFromEnv(itest.LookupEnv), func(k string) (string, bool) { v, ok := planted[k]; return v, ok })
	return layout.GitGateStateDir(plan.Slug)
}

// TestGitGate runs git-gate from the sidecars image between an agent on the
// internal network and a real SSH git server with a known host key.
func TestGitGate(t *testing.T) {
	env := itest.Require(t)
	img := sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	env.RequireImage(t, images.GitUpstreamTestImage, "build:gitUpstreamTest")

	keys := t.TempDir()
	hostKey := itest.Keygen(t, filepath.Join(keys, "ssh_host_ed25519_key"))
	clientPub := itest.Keygen(t, filepath.Join(keys, "client"))
	assert.NilError(t, os.WriteFile(filepath.Join(keys, "authorized_keys"), []byte(clientPub+"\n"), 0o644))
	otherHostKey := itest.Keygen(t, filepath.Join(t.TempDir(), "other"))

	internal := env.InternalNetwork(t, "gg-int")
	outside := env.Network(t, "gg-out", false, nil)
	upstream := env.Run(t, itest.RunSpec{Name: "gg-upstream", Image: images.GitUpstreamTestImage, Network: outside.Name,
		Aliases: []string{"git.upstream.test"}, Binds: []string{keys + ":/etc/ssh/test:ro"}})
	res := upstream.Exec(t, `set -e
git init -q --bare -b main /srv/git/app.git
git init -q -b main /tmp/w && cd /tmp/w
git -c user.name=up -c user.email=up@test commit -q --allow-empty -m "initial upstream commit"
git push -q /srv/git/app.git main
chown -R git:git /srv/git`)
	assert.Equal(t, res.Code, 0, res.Stdout+res.Stderr)
	upstreamHead := func() string {
		r := upstream.Exec(t, "git --git-dir=/srv/git/app.git log --format=%s main")
		return r.Stdout
	}

	gate := func(name, dir string) *itest.Container {
		c := env.Run(t, itest.RunSpec{Name: name, Image: img, Network: internal.Name, User: compose.OperatorUser(),
			Aliases: []string{name, contract.GitGate}, Env: []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS=git-gate"},
			Binds: []string{dir + ":" + contract.ConfigDir(contract.GitGate) + ":ro"}})
		c.Connect(t, outside.Name)
		c.WaitHealthy(t, 20*time.Second)
		return c
	}
	gg := gate("gg-gate", stageGate(t, filepath.Join(keys, "client"), hostKey))
	agent := env.Run(t, itest.RunSpec{Name: "gg-agent", Image: images.AgentTestImage, Network: internal.Name})
	sh := func(script string) itest.ExecResult {
		return agent.Exec(t, "export GIT_TERMINAL_PROMPT=0; git config --global user.name agent; git config --global user.email agent@bottle\n"+script)
	}

	t.Run("clone through the gate", func(t *testing.T) {
		r := sh("git clone -q git://gg-gate/app.git /tmp/app && git -C /tmp/app log --format=%s")
		assert.Equal(t, r.Code, 0, r.Stdout+r.Stderr)
		assert.Assert(t, is.Contains(r.Stdout, "initial upstream commit"))
		r = sh("git ls-remote git://gg-gate/other.git 2>&1")
		assert.Assert(t, is.Contains(r.Stdout, `repository "other" is not declared`), r.Stdout)
	})

	t.Run("clean push reaches upstream", func(t *testing.T) {
		r := sh("cd /tmp/app && echo hello > hello.txt && git add hello.txt && git commit -q -m 'clean change' && git push origin main 2>&1")
		assert.Equal(t, r.Code, 0, r.Stdout+r.Stderr)
		assert.Assert(t, is.Contains(r.Stdout, "git-gate: scanned and forwarded refs/heads/main"), r.Stdout)
		assert.Assert(t, is.Contains(upstreamHead(), "clean change"))
	})

	before := upstreamHead()
	cases := map[string]string{
		"secret in the commit message": "echo ok > ok.txt && git add ok.txt && git commit -q -m 'use AKIAQ7R2XNPLW3JKD5VT'",
	}
	for name, v := range planted {
		cases["readme link with "+name] = "echo 'See [docs](https://docs.example.com/?key=" + v + ")' > README.md && git add README.md && git commit -q -m docs"
	}
	for name, script := range cases {
		t.Run(name, func(t *testing.T) {
			r := sh("rm -rf /tmp/s && git clone -q git://gg-gate/app.git /tmp/s && cd /tmp/s && " + script + " && git push origin main 2>&1")
			assert.Assert(t, r.Code != 0, r.Stdout)
			assert.Assert(t, is.Contains(r.Stdout, "git-gate: gitleaks rejected push to refs/heads/main"), r.Stdout)
			for _, w := range []string{"resolve", "refused", "unreachable", "upstream"} {
				assert.Assert(t, !strings.Contains(strings.ToLower(r.Stdout), w), "mentions %q: %s", w, r.Stdout)
			}
			assert.Equal(t, upstreamHead(), before, "upstream changed")
		})
	}
	t.Run("secret in a branch name", func(t *testing.T) {
		r := sh("rm -rf /tmp/b && git clone -q git://gg-gate/app.git /tmp/b && cd /tmp/b && git push origin main:refs/heads/AKIAQ7R2XNPLW3JKD5VT 2>&1")
		assert.Assert(t, r.Code != 0, r.Stdout)
		assert.Assert(t, is.Contains(r.Stdout, "git-gate: gitleaks rejected push to a ref"), r.Stdout)
		for _, line := range strings.Split(r.Stdout, "\n") {
			if strings.Contains(line, "git-gate:") {
				assert.Assert(t, !strings.Contains(line, "AKIAQ7R2XNPLW3JKD5VT"), "the rejection repeats the secret: %s", line)
			}
		}
		assert.Equal(t, upstreamHead(), before)
	})

	t.Run("unknown host key refuses to forward", func(t *testing.T) {
		bad := gate("gg-badkey", stageGate(t, filepath.Join(keys, "client"), otherHostKey))
		r := sh("git clone -q git://gg-badkey/app.git /tmp/bad 2>&1")
		assert.Assert(t, r.Code != 0, r.Stdout)
		assert.Assert(t, is.Contains(r.Stdout, "git-gate: cannot refresh app"), r.Stdout)
		assert.Assert(t, is.Contains(bad.Logs(t)+r.Stdout, "Host key verification failed"), r.Stdout)
	})

	t.Run("unreachable upstream fails closed", func(t *testing.T) {
		upstream.Stop(t, 1)
		start := time.Now()
		r := sh("git clone -q git://gg-gate/app.git /tmp/down 2>&1")
		assert.Assert(t, r.Code != 0, r.Stdout)
		assert.Assert(t, is.Contains(r.Stdout, "refusing to serve stale data"), r.Stdout)
		assert.Assert(t, time.Since(start) < 70*time.Second, "took %s", time.Since(start))
	})
	_ = gg
}
