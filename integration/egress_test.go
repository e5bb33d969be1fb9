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
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// TestEgressInImage runs egress from the sidecars image under initd, with a
// state directory staged exactly as a bottle stages it, on an internal
// network, and drives it with curl from the agent test image: a host off the
// allowlist gets egress' 403, an IP literal too, an allowed host is sent on
// to the upstream proxy (absent here, so egress answers 502 in its own
// words), the agent's CA file is the one egress signs with, and SIGHUP to
// the container reloads routes through initd.
func TestEgressInImage(t *testing.T) {
	env := itest.Require(t)
	img := sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")

	plan, layout := stageBottle(t, "name = \"eg\"\n[[egress.routes]]\nhost = \"allowed.example.com\"\n", contract.Bundle, nil)

	internal := env.InternalNetwork(t, "eg-internal")
	sc := env.Run(t, itest.RunSpec{
		Name: "eg-sidecars", Image: img, Network: internal.Name, Aliases: []string{"egress"},
		User:  compose.OperatorUser(),
		Env:   []string{"CLAUDE_BOTTLE_SIDECAR_DAEMONS=egress", "EGRESS_UPSTREAM_PROXY=http://127.0.0.1:8888"},
		Binds: []string{layout.EgressStateDir(plan.Slug) + ":/etc/claude-bottle/egress:ro"},
	})
	sc.WaitHealthy(t, 20*time.Second)

	agent := env.Run(t, itest.RunSpec{Name: "eg-agent", Image: images.AgentTestImage, Network: internal.Name,
		Binds: []string{layout.AgentCADir(plan.Slug) + ":/etc/claude-bottle/ca:ro"}})
	curl := func(args string) string {
		res := agent.Exec(t, "curl -sS --max-time 10 -x http://egress:9099 --cacert /etc/claude-bottle/ca/ca.pem -w '\\nHTTP %{http_code}\\n' "+args+" 2>&1")
		return res.Stdout
	}
	out := curl("https://denied.example.com/x")
	assert.Assert(t, is.Contains(out, "egress: host denied.example.com is not on this bottle's allowlist"), out)
	assert.Assert(t, is.Contains(out, "HTTP 403"), out)

	out = curl("https://10.1.2.3/")
	assert.Assert(t, is.Contains(out, "403"), out)

	out = curl("https://allowed.example.com/x")
	assert.Assert(t, is.Contains(out, "egress: upstream request to allowed.example.com failed"), out)
	assert.Assert(t, is.Contains(out, "HTTP 502"), out)

	out = curl("http://_egress.local/allowlist")
	assert.Assert(t, is.Contains(out, `"host":"allowed.example.com"`), out)

	// Reload through initd: SIGHUP to the container reaches egress only.
	routesFile := filepath.Join(layout.EgressStateDir(plan.Slug), "routes.yaml")
	assert.NilError(t, statedir.WriteFileAtomic(filepath.Dir(routesFile), "routes.yaml", []byte("routes:\n  - host: denied.example.com\n"), 0o644))
	sc.Signal(t, "SIGHUP")
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if o := curl("http://_egress.local/allowlist"); strings.Contains(o, "denied.example.com") {
			return poll.Success()
		}
		return poll.Continue("routes not reloaded: %s", sc.Logs(t))
	}, poll.WithTimeout(10*time.Second))
	logs := sc.Logs(t)
	assert.Assert(t, is.Contains(logs, "SIGHUP: forwarding to egress"))
	assert.Assert(t, is.Contains(logs, `[egress] {"time"`), "egress logs are prefixed JSON")

	// egress used the staged CA and wrote nothing into its directory.
	caNow, err := os.ReadFile(filepath.Join(layout.EgressStateDir(plan.Slug), "ca.pem"))
	assert.NilError(t, err)
	assert.Equal(t, string(caNow), string(plan.EgressCA.CertPEM))
	entries, err := os.ReadDir(layout.EgressStateDir(plan.Slug))
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 5, "egress dir: ca.pem, ca-key.pem, routes.yaml, upstream-ca.pem, upstream-auth")
	sc.Signal(t, "SIGTERM")
	assert.Equal(t, sc.Wait(t, 10*time.Second), 0, sc.Logs(t))
}
