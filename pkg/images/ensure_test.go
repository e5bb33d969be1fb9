package images

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
)

func TestSourceRoot(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	root, err := SourceRoot(".", none)
	assert.NilError(t, err)
	_, err = os.Stat(filepath.Join(root, "dockerfiles", "Dockerfile.agent"))
	assert.NilError(t, err, "the found root holds the Dockerfiles")

	_, err = SourceRoot(t.TempDir(), none)
	assert.ErrorContains(t, err, "not inside a claude-bottle checkout")
	other := t.TempDir()
	assert.NilError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644))
	_, err = SourceRoot(".", func(string) (string, bool) { return other, true })
	assert.ErrorContains(t, err, "CLAUDE_BOTTLE_SRC="+other+" is not a claude-bottle checkout")
}

func TestKnown(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == ClaudeCodeVersionEnv {
			return "1.0.100", true
		}
		return "", false
	}
	s, ok := Known(AgentImage, "claude-bottle-sidecars:latest", env)
	assert.Assert(t, ok)
	assert.Equal(t, s.Args["CLAUDE_CODE_VERSION"], "1.0.100")
	s, ok = Known("my-sidecars:dev", "my-sidecars:dev", env)
	assert.Assert(t, ok)
	assert.Equal(t, s.Dockerfile, "dockerfiles/Dockerfile.sidecars")
	assert.Assert(t, len(s.Files) == 2)
	_, ok = Known("python:3.12", "claude-bottle-sidecars:latest", env)
	assert.Assert(t, !ok)
}
