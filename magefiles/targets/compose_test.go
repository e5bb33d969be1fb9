package targets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestRenderFixtures(t *testing.T) {
	t.Setenv("CLAUDE_BOTTLE_HOME", "/h")
	out := t.TempDir()
	files, err := RenderFixtures(t.Context(), filepath.Join("..", "..", "fixtures", "bottles"), out)
	assert.NilError(t, err)
	assert.Assert(t, len(files) >= 6 && len(files)%2 == 0, "every fixture in both shapes: %v", files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		assert.NilError(t, err)
		assert.Assert(t, strings.Contains(string(b), "services:"), f)
		assert.Assert(t, !strings.Contains(string(b), "fixture-placeholder-token"), "token value rendered in %s", f)
		if strings.HasSuffix(f, "-bundle.yml") {
			assert.Assert(t, strings.Contains(string(b), "\n  sidecars:\n"), f)
		}
	}
	_, err = RenderFixtures(t.Context(), t.TempDir(), out)
	assert.ErrorContains(t, err, "no fixture manifests")
}
