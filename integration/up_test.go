//go:build integration

package integration

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// TestUpDown brings a bottle up with the CLI in the shape selected by
// CLAUDE_BOTTLE_SIDECAR_BUNDLE, checks what the agent sees (egress answers,
// the bottle CA trusted without --cacert, no credential or CA key in the
// agent), lists it, and takes it down leaving nothing behind.
func TestUpDown(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	home := t.TempDir()
	manifestPath := home + "/bottle.toml"
	assert.NilError(t, os.WriteFile(home+"/id", []byte("placeholder identity: this upstream is never contacted\n"), 0o600))
	assert.NilError(t, os.WriteFile(manifestPath, []byte(`name = "updown"
image = "claude-bottle-agent-test:latest"
[[egress.routes]]
host = "api.github.com"
auth = { scheme = "token", token_ref = "CB_UPDOWN_TOKEN" }
[[git.repos]]
name = "app"
url = "ssh://git@git.invalid/acme/app.git"
identity = "`+home+`/id"
host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
`), 0o644))
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": home, "CB_UPDOWN_TOKEN": "ghp_UpDownTokenValue0123456789abcdefXYZ"})
	slug, out := upBottle(t, run, manifestPath, "updown")
	assert.Assert(t, is.Contains(out, "sidecars healthy in"))

	code, out, errOut := run("exec", slug, "sh", "-c", "curl -sS --max-time 10 https://denied.example.com/ ; echo; env | grep -c EGRESS_TOKEN || true; ls /etc/claude-bottle/ca")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "egress: host denied.example.com is not on this bottle's allowlist"), "the agent trusts the bottle CA without --cacert: %s", out)
	assert.Assert(t, is.Contains(out, "\n0\n"), "the agent sees a token slot: %s", out)
	assert.Assert(t, is.Contains(out, "ca.pem"))
	assert.Assert(t, !strings.Contains(out, "ca-key.pem"))
	assert.Assert(t, !strings.Contains(out, "ghp_UpDown"))

	code, out, errOut = run("exec", slug, "sh", "-c", "git config --system --get url.git://git-gate/app.git.insteadOf; git config --system --get user.email")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "ssh://git@git.invalid/acme/app.git\nagent@"+slug+".bottle.invalid"), out)

	code, out, _ = run("ls", "--json")
	assert.Equal(t, code, 0)
	assert.Assert(t, is.Contains(out, `"slug": "`+slug+`"`), out)

	code, out, errOut = run("down", slug)
	assert.Equal(t, code, 0, out+errOut)
	assertGone(t, env, home, slug)
}

// TestCleanup: a bottle whose agent is gone (a killed CLI, a crashed
// host) leaves containers, networks and state that cleanup finds by label
// and removes; without --yes and without a terminal it removes nothing.
func TestCleanup(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	home := t.TempDir()
	manifestPath := home + "/bottle.toml"
	assert.NilError(t, os.WriteFile(manifestPath, []byte("name = \"orphan\"\nimage = \"claude-bottle-agent-test:latest\"\n[[egress.routes]]\nhost = \"api.github.com\"\n"), 0o644))
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": home})
	slug, _ := upBottle(t, run, manifestPath, "orphan")
	assert.NilError(t, os.MkdirAll(home+"/state/.staging-x-123", 0o700))
	// The agent dies; the state dir is not new any more.
	assert.NilError(t, dockerClient(t).StopContainer(contract.AgentContainer(slug), 1))
	old := time.Now().Add(-time.Hour)
	assert.NilError(t, os.Chtimes(home+"/state/"+slug, old, old))

	code, out, _ := run("cleanup", "--json")
	assert.Equal(t, code, 1, "without --yes and a terminal nothing is removed")
	assert.Assert(t, is.Contains(out, `"`+slug+`"`), out)
	assert.Assert(t, is.Contains(out, contract.InternalNetwork(slug)), out)
	assert.Assert(t, is.Contains(out, ".staging-x-123"), out)

	code, out, errOut := run("cleanup", "--yes")
	assert.Equal(t, code, 0, out+errOut)
	// cleanup is engine-wide: leftovers of other runs may be removed too.
	assert.Assert(t, regexp.MustCompile(`removed leftovers of [1-9][0-9]* bottle\(s\)`).MatchString(out), out)
	assert.Assert(t, is.Contains(out, "claude-bottle-"+slug), out)
	assertGone(t, env, home, slug)
	_, err := os.Stat(home + "/state/.staging-x-123")
	assert.Assert(t, os.IsNotExist(err))
	_, out, _ = run("cleanup", "--json")
	assert.Assert(t, !strings.Contains(out, slug), "still reported after removal: %s", out)
}

// TestDoctor runs the CLI's doctor against the real engine: every check
// passes here, including the full isolation probe of an internal network
// (plain, and hardened like an agent: IPv6 and privileges too).
func TestDoctor(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	code, out, errOut := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": t.TempDir()})("doctor")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "ok   internal network (engine)"), out)
	assert.Assert(t, is.Contains(out, "ok   agent isolation (full)"), out)
	assert.Assert(t, !strings.Contains(out, "FAIL"), out)
}
