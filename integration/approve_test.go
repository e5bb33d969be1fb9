//go:build integration

package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/operator"
)

// TestApprovalMakesTheHostReachable is the operator's side end to end, in
// the shape of CLAUDE_BOTTLE_SIDECAR_BUNDLE: the agent is refused a host,
// asks (a pipelock-block proposal, as the supervise daemon queues it), the
// operator approves through the CLI, and the agent's retried request
// reaches the stand-in internet — one approval, both egress and pipelock.
// Then deny takes it back, and allow HOST/PATH opens only that path.
func TestApprovalMakesTheHostReachable(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	shape := contract.ShapeFromEnv(itest.LookupEnv)
	rig := env.StandinRig(t, itest.RigOptions{Shape: shape, Manifest: `name = "approve"
image = "` + images.AgentTestImage + `"
[[egress.routes]]
host = "` + itest.AuthHost + `"
[supervise]
enabled = true
`})
	slug := rig.Plan.Slug
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": rig.Layout.Home})
	agent := contract.AgentContainer(slug)
	get := func(path string) string {
		out, _, err := rig.Eng.Exec(t.Context(), agent, "", []string{"sh", "-c",
			"curl -sS --max-time 15 -w '\\nHTTP %{http_code}\\n' 'https://" + itest.AllowedHost + path + "' 2>&1"})
		assert.NilError(t, err)
		return out
	}
	waitFor := func(path, want string) string {
		t.Helper()
		var last string
		poll.WaitOn(t, func(poll.LogT) poll.Result {
			last = get(path)
			if strings.Contains(last, want) {
				return poll.Success()
			}
			return poll.Continue("GET %s: want %q, got %q", path, want, last)
		}, poll.WithTimeout(30*time.Second), poll.WithDelay(500*time.Millisecond))
		return last
	}

	out := get("/x")
	assert.Assert(t, is.Contains(out, "egress: host "+itest.AllowedHost+" is not on this bottle's allowlist"), out)

	q := approvals.Queue{Dir: rig.Layout.QueueDir(slug)}
	p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindPipelock, FailedURL: "https://" + itest.AllowedHost + "/x",
		Host: itest.AllowedHost, Justification: "the task fetches its fixtures from there"}, time.Now())
	assert.NilError(t, err)
	code, ls, errOut := run("supervise", "ls")
	assert.Equal(t, code, 0, errOut)
	assert.Assert(t, is.Contains(ls, "allow host: "+itest.AllowedHost), ls)

	code, out, errOut = run("supervise", "approve", p.ID, "--json")
	assert.Equal(t, code, 0, out+errOut)
	var entry operator.AuditEntry
	assert.NilError(t, json.Unmarshal([]byte(out), &entry), out)
	assert.Equal(t, entry.Decision, approvals.Approved)
	assert.Equal(t, entry.RoutesAfter[len(entry.RoutesAfter)-1].Host, itest.AllowedHost)
	assert.Assert(t, is.Contains(entry.After, itest.AllowedHost))

	out = waitFor("/x", "HTTP 200")
	assert.Assert(t, is.Contains(out, "standin internet:"), out)

	// deny takes it back: egress refuses again.
	code, out, errOut = run("deny", slug, itest.AllowedHost, "--notes", "done")
	assert.Equal(t, code, 0, out+errOut)
	waitFor("/x", "egress: host "+itest.AllowedHost+" is not on this bottle's allowlist")

	// allow HOST/PATH opens that path prefix only.
	code, out, errOut = run("allow", slug, itest.AllowedHost+"/only/")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "egress routes of "+slug+": "+itest.AuthHost+"; "+itest.AllowedHost+" /only/"), out)
	out = waitFor("/only/x", "HTTP 200")
	assert.Assert(t, is.Contains(out, "standin internet:"), out)
	out = get("/other")
	assert.Assert(t, is.Contains(out, "HTTP 403"), out)
	assert.Assert(t, is.Contains(out, "egress:"), out)

	// logs shows what was blocked, one readable line each.
	code, out, errOut = run("logs", slug, "--blocked")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "egress   deny"), out)
	assert.Assert(t, is.Contains(out, itest.AllowedHost+"/other"), out)
}
