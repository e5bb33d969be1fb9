package statedir

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// smallTmpfs mounts a tmpfs of size bytes (and mode opts) at a new
// directory. It needs CAP_SYS_ADMIN; without it the test is skipped with
// the reason, and TestExplainStorage still covers the messages.
func smallTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

func TestStageOnAFullDiskChangesNothing(t *testing.T) {
	root := smallTmpfs(t, "size=64k")
	l := Layout{Home: root}
	big := File{Dir: "pipelock", Name: "big", Data: make([]byte, 256<<10), Perm: PublicPerm}
	err := l.Stage("full-abcde", []File{{Name: "metadata.json", Data: []byte("{}"), Perm: PublicPerm}, big})
	assert.Assert(t, errors.Is(err, syscall.ENOSPC), "%v", err)
	var se *StorageError
	assert.Assert(t, errors.As(err, &se))
	assert.Assert(t, is.Contains(err.Error(), "the disk holding "+l.StateRoot()+" is full"))
	assert.Assert(t, is.Contains(err.Error(), "nothing was changed"))
	entries, err := os.ReadDir(l.StateRoot())
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 0, "staging left %v behind", entries)
}

func TestWriteFileAtomicOnAFullDiskKeepsTheOldFile(t *testing.T) {
	dir := smallTmpfs(t, "size=64k")
	assert.NilError(t, WriteFileAtomic(dir, "pipelock.yaml", []byte("old"), PublicPerm))
	err := WriteFileAtomic(dir, "pipelock.yaml", make([]byte, 256<<10), PublicPerm)
	assert.Assert(t, errors.Is(err, syscall.ENOSPC), "%v", err)
	assert.Assert(t, is.Contains(err.Error(), "is full"))
	b, err := os.ReadFile(filepath.Join(dir, "pipelock.yaml"))
	assert.NilError(t, err)
	assert.Equal(t, string(b), "old")
	entries, _ := os.ReadDir(dir)
	assert.Equal(t, len(entries), 1, "a temporary file was left: %v", entries)
}

func TestReadOnlyStateRoot(t *testing.T) {
	root := smallTmpfs(t, "size=1m")
	l := Layout{Home: root}
	assert.NilError(t, os.MkdirAll(l.StateDir("ro-abcde")+"/pipelock", DirPerm))
	assert.NilError(t, WriteFileAtomic(l.StateDir("ro-abcde")+"/pipelock", "pipelock.yaml", []byte("old"), PublicPerm))
	if out, err := exec.Command("mount", "-o", "remount,ro", root).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	err := l.Stage("new-abcde", []File{{Name: "metadata.json", Data: []byte("{}"), Perm: PublicPerm}})
	assert.Assert(t, errors.Is(err, syscall.EROFS), "%v", err)
	assert.Assert(t, is.Contains(err.Error(), "read-only file system: remount it read-write"))
	err = WriteFileAtomic(l.StateDir("ro-abcde")+"/pipelock", "pipelock.yaml", []byte("new"), PublicPerm)
	assert.Assert(t, errors.Is(err, syscall.EROFS), "%v", err)
	b, _ := os.ReadFile(l.StateDir("ro-abcde") + "/pipelock/pipelock.yaml")
	assert.Equal(t, string(b), "old")
}

func TestExplainStorage(t *testing.T) {
	for errno, want := range map[syscall.Errno]string{
		syscall.ENOSPC: "is full", syscall.EROFS: "read-only file system", syscall.EACCES: "no permission", syscall.EDQUOT: "quota",
	} {
		err := explainStorage(&os.PathError{Op: "open", Path: "/x/y", Err: errno}, "/x")
		assert.Assert(t, is.Contains(err.Error(), want))
		assert.Assert(t, errors.Is(err, errno))
		assert.Equal(t, strings.Count(explainStorage(err, "/x").Error(), "nothing was changed"), 1)
	}
	plain := errors.New("other")
	assert.Equal(t, explainStorage(plain, "/x"), plain)
}
