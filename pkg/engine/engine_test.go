package engine

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"
)

func TestBuildContextDigest(t *testing.T) {
	dir := fs.NewDir(t, "ctx",
		fs.WithFile("Dockerfile", "FROM x\n"),
		fs.WithFile("a", "alpha", fs.WithMode(0o755)),
		fs.WithFile("b", "beta"))
	spec := BuildSpec{Tag: "t", Dockerfile: dir.Join("Dockerfile"),
		Files: map[string]string{"bin/a": dir.Join("a"), "b": dir.Join("b")},
		Args:  map[string]string{"BASE_IMAGE": "base"}}
	tar1, d1, err := buildContext(spec)
	assert.NilError(t, err)
	tar2, d2, err := buildContext(spec)
	assert.NilError(t, err)
	assert.Equal(t, d1, d2, "same inputs, same digest")
	assert.Assert(t, bytes.Equal(tar1, tar2), "same inputs, same context bytes")

	// The context holds exactly the Dockerfile and the files, sorted.
	tr := tar.NewReader(bytes.NewReader(tar1))
	var got []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		assert.NilError(t, err)
		got = append(got, h.Name)
		if h.Name == "bin/a" {
			assert.Equal(t, h.Mode, int64(0o755))
		}
	}
	assert.DeepEqual(t, got, []string{"Dockerfile", "b", "bin/a"})

	for name, mutate := range map[string]func(s *BuildSpec){
		"file content": func(*BuildSpec) { assert.NilError(t, os.WriteFile(dir.Join("b"), []byte("BETA"), 0o644)) },
		"build arg":    func(s *BuildSpec) { s.Args = map[string]string{"BASE_IMAGE": "other"} },
		"label":        func(s *BuildSpec) { s.Labels = map[string]string{"k": "v"} },
		"salt":         func(s *BuildSpec) { s.Salt = []string{"base sha256:1"} },
		"file name":    func(s *BuildSpec) { s.Files = map[string]string{"bin/a": dir.Join("a"), "c": dir.Join("b")} },
	} {
		s := spec
		mutate(&s)
		_, d, err := buildContext(s)
		assert.NilError(t, err)
		assert.Assert(t, d != d1, "changing the %s must change the digest", name)
		assert.NilError(t, os.WriteFile(dir.Join("b"), []byte("beta"), 0o644))
	}

	bad := spec
	bad.Files = map[string]string{"../escape": dir.Join("a")}
	_, _, err = buildContext(bad)
	assert.ErrorContains(t, err, "must be relative, without '..'")
	bad.Files = map[string]string{"x": filepath.Join(dir.Path(), "missing")}
	_, _, err = buildContext(bad)
	assert.ErrorContains(t, err, "read build input")
}

func TestConnectNoEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	start := time.Now()
	_, err := Connect(t.Context())
	assert.Assert(t, errors.Is(err, ErrNoEngine))
	assert.Assert(t, is.Contains(err.Error(), "unix:///nonexistent/docker.sock"))
	assert.Assert(t, is.Contains(err.Error(), "apt-get install -y docker.io"))
	assert.Assert(t, time.Since(start) < 10*time.Second, "the engine check must not hang")
}
