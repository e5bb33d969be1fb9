//go:build integration

package integration

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
)

// TestSuperviseRegisteredWithClaudeCode: when the agent image has Claude
// Code, up registers supervise with it, as each user of the image. A
// stand-in `claude` (the real one needs the npm registry) records how it
// was called.
func TestSuperviseRegisteredWithClaudeCode(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	assert.NilError(t, os.WriteFile(df, []byte("FROM "+images.AgentTestImage+"\nUSER root\n"+
		`RUN printf '#!/bin/sh\necho "$(id -un): $*" >> /tmp/claude-calls\n' > /usr/local/bin/claude && chmod 755 /usr/local/bin/claude`+"\nUSER agent\n"), 0o644))
	eng, err := lifecycle.Connect(t.Context())
	assert.NilError(t, err)
	defer func() { _ = eng.Close() }()
	const tag = "claude-bottle-agent-fakeclaude:test"
	_, err = eng.Build(t.Context(), engine.BuildSpec{Tag: tag, Dockerfile: df}, io.Discard)
	assert.NilError(t, err)
	t.Cleanup(func() { _ = eng.RemoveImage(context.Background(), tag, engine.RemoveImageOptions{PruneChildren: true}) })

	home := t.TempDir()
	manifestPath := filepath.Join(home, "bottle.toml")
	assert.NilError(t, os.WriteFile(manifestPath, []byte("name = \"cc\"\nimage = \""+tag+"\"\n[[egress.routes]]\nhost = \"api.anthropic.com\"\n[supervise]\nenabled = true\n"), 0o644))
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": home})
	slug, _ := upBottle(t, run, manifestPath, "cc")
	code, out, errOut := run("exec", slug, "cat", "/tmp/claude-calls")
	assert.Equal(t, code, 0, out+errOut)
	assert.Assert(t, is.Contains(out, "agent: mcp add --scope user --transport http supervise http://supervise:9100/"), out)
}
