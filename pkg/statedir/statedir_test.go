package statedir

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"gotest.tools/v3/assert"
	"gotest.tools/v3/fs"
)

func TestFromEnv(t *testing.T) {
	l, err := FromEnv(func(k string) (string, bool) {
		if k == HomeEnv {
			return "/tmp/cb-home", true
		}
		return "", false
	})
	assert.NilError(t, err)
	assert.Equal(t, l.Home, "/tmp/cb-home")

	t.Setenv("HOME", "/home/op")
	l, err = FromEnv(func(string) (string, bool) { return "", false })
	assert.NilError(t, err)
	assert.Equal(t, l.Home, "/home/op/.claude-bottle")
}

func TestLayoutPaths(t *testing.T) {
	l := Layout{Home: "/h"}
	slug := "demo-ab1cd"
	for got, want := range map[string]string{
		l.StateDir(slug):         "/h/state/demo-ab1cd",
		l.PipelockStateDir(slug): "/h/state/demo-ab1cd/pipelock",
		l.EgressStateDir(slug):   "/h/state/demo-ab1cd/egress",
		l.GitGateStateDir(slug):  "/h/state/demo-ab1cd/git-gate",
		l.AgentCADir(slug):       "/h/state/demo-ab1cd/agent",
		l.QueueDir(slug):         "/h/queue/demo-ab1cd",
		l.AuditLog():             "/h/audit.jsonl",
	} {
		assert.Equal(t, got, want)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := fs.NewDir(t, "atomic")
	assert.NilError(t, WriteFileAtomic(dir.Path(), "ca-key.pem", []byte("key"), PrivatePerm))
	st, err := os.Stat(dir.Join("ca-key.pem"))
	assert.NilError(t, err)
	assert.Equal(t, st.Mode().Perm(), PrivatePerm)

	// Replacing changes the inode: a bind mount of the directory sees the new
	// file, a reader holding the old one keeps reading the old bytes.
	old, err := os.Open(dir.Join("ca-key.pem"))
	assert.NilError(t, err)
	defer old.Close()
	assert.NilError(t, WriteFileAtomic(dir.Path(), "ca-key.pem", []byte("new key"), PrivatePerm))
	b, err := os.ReadFile(dir.Join("ca-key.pem"))
	assert.NilError(t, err)
	assert.Equal(t, string(b), "new key")
	oldBytes := make([]byte, 16)
	n, _ := old.Read(oldBytes)
	assert.Equal(t, string(oldBytes[:n]), "key")

	entries, err := os.ReadDir(dir.Path())
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 1, "no temporary file may be left behind")

	for _, bad := range []string{"", ".", "..", "a/b", `a\b`} {
		assert.ErrorContains(t, WriteFileAtomic(dir.Path(), bad, nil, PublicPerm), "not a plain file name")
	}
	assert.ErrorContains(t, WriteFileAtomic(dir.Join("missing"), "x", nil, PublicPerm), "write x")
}

func TestWriteFileAtomicConcurrentReaders(t *testing.T) {
	dir := fs.NewDir(t, "atomic")
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	for i := range a {
		a[i], b[i] = 'a', 'b'
	}
	assert.NilError(t, WriteFileAtomic(dir.Path(), "f", a, PublicPerm))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			data := a
			if i%2 == 0 {
				data = b
			}
			if err := WriteFileAtomic(dir.Path(), "f", data, PublicPerm); err != nil {
				t.Error(err)
				return
			}
		}
		close(stop)
	}()
	for done := false; !done; {
		select {
		case <-stop:
			done = true
		default:
		}
		got, err := os.ReadFile(dir.Join("f"))
		assert.NilError(t, err)
		assert.Equal(t, len(got), len(a), "a reader saw a partial file")
		for _, c := range got {
			if c != got[0] {
				t.Fatal("a reader saw a mix of old and new content")
			}
		}
	}
	wg.Wait()
}

func TestStage(t *testing.T) {
	home := fs.NewDir(t, "home")
	l := Layout{Home: home.Path()}
	slug := "demo-ab1cd"
	err := l.Stage(slug, []File{
		{Name: "metadata.json", Data: []byte("{}"), Perm: PublicPerm},
		{Dir: "egress", Name: "ca-key.pem", Data: []byte("k"), Perm: PrivatePerm},
		{Dir: "egress", Name: "ca.pem", Data: []byte("c"), Perm: PublicPerm},
	})
	assert.NilError(t, err)
	for path, perm := range map[string]os.FileMode{
		l.StateDir(slug):       DirPerm,
		l.EgressStateDir(slug): DirPerm,
		filepath.Join(l.EgressStateDir(slug), contract.CAKey):  PrivatePerm,
		filepath.Join(l.EgressStateDir(slug), contract.CACert): PublicPerm,
	} {
		st, err := os.Stat(path)
		assert.NilError(t, err)
		assert.Equal(t, st.Mode().Perm(), perm, path)
	}
	assert.ErrorContains(t, l.Stage(slug, nil), "already exists")
	assert.NilError(t, l.Remove(slug))
	_, err = os.Stat(l.StateDir(slug))
	assert.Assert(t, os.IsNotExist(err))
}

func TestStageFailureLeavesNothing(t *testing.T) {
	home := fs.NewDir(t, "home")
	l := Layout{Home: home.Path()}
	err := l.Stage("demo-ab1cd", []File{
		{Name: "ok", Data: []byte("x"), Perm: PublicPerm},
		{Dir: "../escape", Name: "bad", Data: []byte("x"), Perm: PublicPerm},
	})
	assert.ErrorContains(t, err, "escapes the state dir")
	entries, err := os.ReadDir(l.StateRoot())
	assert.NilError(t, err)
	assert.Equal(t, len(entries), 0, "a failed stage must leave nothing behind")

	assert.ErrorContains(t, l.Stage("../etc-ab1cd", nil), "invalid bottle slug")
	assert.ErrorContains(t, l.Remove("../../x"), "invalid bottle slug")
}
