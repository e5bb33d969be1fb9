package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestMultiCall builds the CLI and runs it under the names the sidecars
// image of an installed CLI gives it: it must be initd and the daemons'
// multi-call binary there, and the CLI everywhere else.
func TestMultiCall(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "claude-bottle")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	assert.NilError(t, err, string(out))
	for _, name := range []string{"initd", "claude-bottle-sidecar"} {
		assert.NilError(t, os.Symlink(bin, filepath.Join(dir, name)))
	}
	run := func(name string, args ...string) (string, int) {
		c := exec.Command(filepath.Join(dir, name), args...)
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		assert.NilError(t, err)
		return string(out), 0
	}
	out2, code := run("initd", "--help")
	assert.Equal(t, code, 0)
	assert.Assert(t, is.Contains(out2, "usage: initd [health]"))
	out2, code = run("initd", "bogus")
	assert.Equal(t, code, 2)
	assert.Assert(t, is.Contains(out2, `[initd] unknown argument "bogus"`))
	out2, code = run("claude-bottle-sidecar", "no-such-daemon")
	assert.Equal(t, code, 2, out2)
	assert.Assert(t, is.Contains(out2, "claude-bottle-sidecar: "))
	out2, code = run("claude-bottle", "version")
	assert.Equal(t, code, 0)
	assert.Assert(t, is.Contains(out2, "claude-bottle "))
	out2, code = run("claude-bottle", "help", "up")
	assert.Equal(t, code, 0)
	assert.Assert(t, is.Contains(out2, "-d, --detach"))
}
