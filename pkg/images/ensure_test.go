package images

import (
	"errors"
	"os"
	"os/exec"
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

func TestStale(t *testing.T) {
	built := map[string]string{LabelVersion: "v1.2.0"}
	assert.Assert(t, !Stale(built, "v1.2.0"))
	assert.Assert(t, Stale(built, "v1.3.0"), "another release rebuilds")
	assert.Assert(t, Stale(map[string]string{}, "v1.3.0"), "an image without the label (built in a checkout) is rebuilt by a release")
	assert.Assert(t, !Stale(built, "(devel)"), "a checkout build keeps what is there")
	assert.Assert(t, !Stale(built, ""))
	assert.Assert(t, Released("v0.0.0-20260101000000-abcdef123456"))
}

func TestEmbeddedRootWithoutACheckout(t *testing.T) {
	dir, spec, err := embeddedRoot(Agent(""))
	assert.NilError(t, err)
	defer os.RemoveAll(dir)
	got, err := os.ReadFile(filepath.Join(dir, spec.Dockerfile))
	assert.NilError(t, err)
	want, err := os.ReadFile(filepath.Join("..", "..", "dockerfiles", "Dockerfile.agent"))
	assert.NilError(t, err)
	assert.Equal(t, string(got), string(want), "the embedded Dockerfile is the checkout's")
	assert.Equal(t, len(spec.Files), 0)
}

func TestCheckStatic(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "main.go")
	assert.NilError(t, os.WriteFile(main, []byte("package main\nfunc main() {}\n"), 0o644))
	bin := filepath.Join(dir, "static")
	cmd := exec.Command("go", "build", "-o", bin, main)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, string(out))
	assert.NilError(t, checkStatic(bin))
	sh, err := exec.LookPath("sh")
	assert.NilError(t, err)
	sh, _ = filepath.EvalSymlinks(sh)
	err = checkStatic(sh)
	assert.Assert(t, errors.Is(err, ErrNotStatic), "%v", err)
	assert.ErrorContains(t, err, "reinstall with CGO_ENABLED=0 go install")
}
