//go:build integration

package integration

import (
	"os"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// TestCapabilityBlock approves an agent's capability-block through the
// CLI: the agent is rebuilt from its own snapshot plus the Dockerfile and
// recreated in place — its files, bottle CA trust, environment and network
// survive, the new tool is there — and down removes the per-bottle images.
func TestCapabilityBlock(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	home := t.TempDir()
	manifestPath := home + "/bottle.toml"
	assert.NilError(t, os.WriteFile(manifestPath, []byte("name = \"cap\"\nimage = \""+images.AgentTestImage+"\"\n[env]\nPROJECT = \"demo\"\n[[egress.routes]]\nhost = \"api.github.com\"\n[supervise]\nenabled = true\n"), 0o644))
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": home})
	slug, _ := upBottle(t, run, manifestPath, "cap")
	code, out, errOut := run("exec", slug, "sh", "-c", "echo work-in-progress > /home/agent/notes.txt && command -v cb-new-tool || echo no-tool")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "no-tool"))

	q := approvals.Queue{Dir: statedir.Layout{Home: home}.QueueDir(slug)}
	p, _, err := q.Submit(approvals.Proposal{Slug: slug, Kind: approvals.KindCapability, Justification: "the task needs cb-new-tool",
		Dockerfile: "FROM debian:anything-the-agent-names\nRUN printf '#!/bin/sh\\necho new tool works\\n' > /usr/local/bin/cb-new-tool && chmod 755 /usr/local/bin/cb-new-tool\n"}, time.Now())
	assert.NilError(t, err)
	// Off a terminal, a rebuild is approved only with --yes, after the
	// full Dockerfile is printed.
	code, out, errOut = run("supervise", "approve", p.ID, "--notes", "ok")
	assert.Equal(t, code, 1, out+errOut)
	assert.Assert(t, is.Contains(out, "| FROM ${CLAUDE_BOTTLE_AGENT_BASE}"), out)
	assert.Assert(t, is.Contains(errOut, "run again with --yes"), errOut)
	code, out, errOut = run("supervise", "approve", p.ID, "--notes", "ok", "--yes")
	assert.Equal(t, code, 0, out+errOut)

	code, out, errOut = run("exec", slug, "sh", "-c", "cb-new-tool; cat /home/agent/notes.txt; echo PROJECT=$PROJECT; curl -sS --max-time 10 https://denied.example.com/")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "new tool works"))
	assert.Assert(t, is.Contains(out, "work-in-progress"), "the agent's files survive the rebuild")
	assert.Assert(t, is.Contains(out, "PROJECT=demo"))
	assert.Assert(t, is.Contains(out, "egress: host denied.example.com"), "still behind egress, CA still trusted: %s", out)
	resp, ok, err := q.Response(p.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && resp.Decision == approvals.Approved)
	audit, err := os.ReadFile(home + "/audit.jsonl")
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(audit), lifecycle.AgentImageRepo(slug)+":"))

	code, out, errOut = run("down", slug)
	assert.Equal(t, code, 0, out+errOut)
	imgs, err := dockerClient(t).ListImages(dcListImages(slug))
	assert.NilError(t, err)
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			assert.Assert(t, !strings.HasPrefix(tag, lifecycle.AgentImageRepo(slug)), "image %s left behind", tag)
		}
	}
}
