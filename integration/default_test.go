//go:build integration

package integration

import (
	"context"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
)

// TestDefaultBottleBuildsItsImage is the README's first command in test
// form: `up` with no manifest brings the embedded default bottle up, and
// builds its agent image (claude-bottle-agent:latest) through the same code
// as the mage targets because the image is missing; the bottle then blocks
// a host off its allowlist from inside.
func TestDefaultBottleBuildsItsImage(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	eng, err := lifecycle.Connect(t.Context())
	assert.NilError(t, err)
	defer func() { _ = eng.Close() }()
	// Missing on purpose: up must build it.
	if err := eng.RemoveImage(context.Background(), images.AgentImage, engine.RemoveImageOptions{Force: true}); err != nil {
		t.Logf("%s was not there: %v", images.AgentImage, err)
	}
	// The npm registry is unreachable here: build without Claude Code
	// unless the caller says otherwise.
	cc, ok := itest.LookupEnv(images.ClaudeCodeVersionEnv)
	if !ok {
		cc = "none"
	}
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": t.TempDir(), images.ClaudeCodeVersionEnv: cc})
	code, out, errOut := run("up", "--detach")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "image "+images.AgentImage+" is missing: building it"), out)
	assert.Assert(t, is.Contains(out, "image "+images.AgentImage+" built in"), out)
	slug := slugFrom(t, out, "default")
	t.Cleanup(func() { run("down", slug) })

	code, out, errOut = run("exec", slug, "curl", "-sS", "--max-time", "10", "https://example.com/")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "egress: host example.com is not on this bottle's allowlist"), out)
}
