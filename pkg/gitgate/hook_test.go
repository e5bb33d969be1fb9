package gitgate

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
)

// TestWriteHookWhileItRuns: the hook is replaced while a push is executing
// it. Writing into a file being executed fails with "text file busy"
// (seen when one push ran the hook while a clone refreshed the mirror);
// writeHook renames a new file over it instead. A real executable stands in
// for the running hook, since the kernel denies writes only while a file is
// mapped for execution.
func TestWriteHookWhileItRuns(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("no sleep binary: %v", err)
	}
	bin, err := os.ReadFile(sleep)
	assert.NilError(t, err)
	path := filepath.Join(t.TempDir(), "pre-receive")
	assert.NilError(t, os.WriteFile(path, bin, 0o700))
	cmd := exec.Command(path, "30")
	assert.NilError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	// Control: writing in place is what fails.
	err = os.WriteFile(path, []byte("#!/bin/sh\n"), 0o700)
	assert.ErrorContains(t, err, "text file busy")

	const script = "#!/bin/sh\nexec /x git-gate pre-receive\n"
	assert.NilError(t, writeHook(path, script))
	got, err := os.ReadFile(path)
	assert.NilError(t, err)
	assert.Equal(t, string(got), script)
	fi, err := os.Stat(path)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), os.FileMode(0o700))
	// Unchanged: nothing is rewritten, and no temporary file is left.
	assert.NilError(t, writeHook(path, script))
	entries, err := os.ReadDir(filepath.Dir(path))
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 1)
}
