//go:build integration

package integration

import (
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// agentView is what the agent sees of its bottle, with the slug replaced:
// its environment, its git configuration and the files claude-bottle put
// in it. The CA certificate differs per bottle by design; its path and
// trust are compared, not its bytes.
const agentView = `env | grep -v '^HOSTNAME=' | sort
echo '--- /etc/gitconfig'; cat /etc/gitconfig
echo '--- ca dir'; ls -l /etc/claude-bottle/ca | awk '{print $1, $NF}'
echo '--- trust'; curl -sS -o /dev/null -w '%{http_code}\n' --max-time 10 https://denied.example.com/
echo '--- resolv'; grep -v '^#' /etc/resolv.conf
`

// TestBottleShapes brings the same manifest up in both shapes through the
// CLI (the compose path) and checks, from inside the agent, that egress and
// supervise answer on their aliases and ports (supervise with an MCP
// initialize round trip) and pipelock does not exist for it, that the agent's environment and
// configuration are byte-identical between the shapes, and that down leaves
// no container, network or state directory behind.
func TestBottleShapes(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	home := t.TempDir()
	assert.NilError(t, os.WriteFile(home+"/id", []byte("placeholder identity: this upstream is never contacted\n"), 0o600))
	manifestPath := home + "/bottle.toml"
	assert.NilError(t, os.WriteFile(manifestPath, []byte(`name = "shapes"
image = "`+images.AgentTestImage+`"
[env]
PROJECT = "demo"
[[egress.routes]]
host = "api.github.com"
[[git.repos]]
name = "app"
url = "ssh://git@git.invalid/acme/app.git"
identity = "`+home+`/id"
host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
[supervise]
enabled = true
`), 0o644))
	vars := map[string]string{"CLAUDE_BOTTLE_HOME": home}
	run := cliRunner(t, vars)
	views := map[string]string{}
	for _, flag := range []string{"0", "1"} {
		vars[contract.BundleEnv] = flag
		slug, _ := upBottle(t, run, manifestPath, "shapes")

		code, out, errOut := run("exec", slug, "sh", "-c", `
curl -sS --max-time 10 -o /dev/null -w 'pipelock %{http_code}\n' -x http://pipelock:8888 http://example.com/ 2>&1
curl -sS --max-time 10 -w '\negress %{http_code}\n' https://denied.example.com/
curl -sS --max-time 10 -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
  --data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"shapes-test","version":"1"}}}' \
  http://supervise:9100/
`)
		assert.Equal(t, code, 0, out+errOut)
		// pipelock serves egress alone (legacy: on the hop network; bundle:
		// on loopback): its name does not even resolve for the agent.
		assert.Assert(t, strings.Contains(out, "Could not resolve proxy: pipelock") || strings.Contains(out, "Resolving timed out"), "the agent has a route to pipelock: %s", out)
		assert.Assert(t, is.Contains(out, "pipelock 000"), out)
		assert.Assert(t, is.Contains(out, "egress 403"), out)
		assert.Assert(t, is.Contains(out, "egress: host denied.example.com"), out)
		assert.Assert(t, is.Contains(out, `"serverInfo"`), "MCP initialize round trip: %s", out)
		assert.Assert(t, is.Contains(out, `"tools"`), "supervise offers tools: %s", out)

		code, out, errOut = run("exec", slug, "sh", "-c", agentView)
		assert.Equal(t, code, 0, out+errOut)
		views[flag] = strings.ReplaceAll(out, slug, "<slug>")

		code, out, errOut = run("down", slug)
		assert.Equal(t, code, 0, out+errOut)
		assertGone(t, env, home, slug)
	}
	assert.Assert(t, is.Contains(views["0"], "PROJECT=demo"))
	assert.Assert(t, is.Contains(views["0"], "HTTPS_PROXY=http://egress:9099"))
	assert.Equal(t, views["0"], views["1"], "the agent sees a different bottle in the two shapes")
}
