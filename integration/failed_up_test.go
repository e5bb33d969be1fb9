//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// TestFailedUpKeepsOnlyItsLogs: a bring-up whose sidecar cannot start (its
// routes file is broken after staging) removes every container and network
// it created and keeps the state directory with compose.log, which holds
// the sidecar's own error; down then removes the rest.
func TestFailedUpKeepsOnlyItsLogs(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	plan, layout := stageBottle(t, "name = \"broken\"\nimage = \""+images.AgentTestImage+"\"\n[[egress.routes]]\nhost = \"api.github.com\"\n",
		contract.ShapeFromEnv(itest.LookupEnv), nil)
	assert.NilError(t, os.WriteFile(filepath.Join(layout.EgressStateDir(plan.Slug), contract.RoutesFile), []byte("routes: [this is not a route\n"), 0o644))

	eng, err := lifecycle.Connect(t.Context())
	assert.NilError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	t.Cleanup(func() { _ = eng.Down(context.Background(), layout, plan.Slug, false) })
	var out bytes.Buffer
	err = eng.Up(t.Context(), plan, nil, &out)
	assert.Assert(t, err != nil, "up with a broken egress succeeded: %s", out.String())
	assert.Assert(t, is.Contains(out.String(), "bring-up failed"), out.String())
	failing := contract.SidecarContainer(contract.Egress, plan.Slug)
	if plan.Shape == contract.Bundle {
		failing = contract.BundleContainer(plan.Slug)
	}
	assert.Assert(t, is.Contains(err.Error(), failing+" stopped before it was healthy"), "%v", err)

	logs, err := os.ReadFile(filepath.Join(layout.StateDir(plan.Slug), statedir.ComposeLog))
	assert.NilError(t, err, "compose.log kept")
	assert.Assert(t, is.Contains(string(logs), "parse routes"), string(logs))
	cs, err := eng.BottleContainers(t.Context(), plan.Slug)
	assert.NilError(t, err)
	assert.Equal(t, len(cs), 0, "containers left behind")

	assert.NilError(t, eng.Down(t.Context(), layout, plan.Slug, false))
	assertGone(t, env, layout.Home, plan.Slug)
}
