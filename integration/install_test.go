//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// InstallTestEnv opts into TestGoInstallOutsideTheCheckout, which downloads
// every dependency into an empty GOPATH and builds a sidecars image.
const InstallTestEnv = "CLAUDE_BOTTLE_INSTALL_TEST"

// TestGoInstallOutsideTheCheckout installs the CLI the way a user does —
// go install into an empty GOPATH, CGO_ENABLED=0, modules from GOPROXY —
// and runs it from a directory that is no checkout: `up` must build the
// sidecars image from what the binary embeds and from itself, and bring the
// default bottle up. The module is not published, so go install cannot
// resolve it @version: an installer module requires it and replaces it
// with a copy of this tree outside the repository (everything else comes
// from the proxy). The sidecars image gets its own tag, removed at the end.
func TestGoInstallOutsideTheCheckout(t *testing.T) {
	if v, _ := itest.LookupEnv(InstallTestEnv); v != "1" {
		t.Skip("long test (downloads every module, builds an image): set " + InstallTestEnv + "=1")
	}
	env := itest.Require(t)
	root, err := images.SourceRoot(".", itest.LookupEnv)
	assert.NilError(t, err)
	tmp := t.TempDir()

	// A copy of the tree, outside the repository.
	src := filepath.Join(tmp, "src")
	files, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard").Output()
	assert.NilError(t, err)
	for _, f := range strings.Split(strings.TrimSpace(string(files)), "\n") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		assert.NilError(t, err)
		assert.NilError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, f)), 0o755))
		assert.NilError(t, os.WriteFile(filepath.Join(src, f), data, 0o644))
	}
	installer := filepath.Join(tmp, "installer")
	assert.NilError(t, os.MkdirAll(installer, 0o755))
	assert.NilError(t, os.WriteFile(filepath.Join(installer, "go.mod"), []byte(
		"module example.com/installer\n\ngo 1.26\n\nrequire github.com/claude-bottle/claude-bottle v0.0.0\n\nreplace github.com/claude-bottle/claude-bottle => "+src+"\n"), 0o644))

	gobin := filepath.Join(tmp, "bin")
	goEnv := []string{"GOPATH=" + filepath.Join(tmp, "gopath"), "GOBIN=" + gobin, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local",
		"HOME=" + tmp, "PATH=" + os.Getenv("PATH")}
	for _, k := range []string{"GOPROXY", "GONOSUMDB", "GONOSUMCHECK", "GOSUMDB", "GOPRIVATE", "GOCACHE", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"} {
		if v, ok := itest.LookupEnv(k); ok {
			goEnv = append(goEnv, k+"="+v)
		}
	}
	if v, ok := itest.LookupEnv("GOCACHE"); !ok || v == "" {
		out, _ := exec.Command("go", "env", "GOCACHE").Output()
		goEnv = append(goEnv, "GOCACHE="+strings.TrimSpace(string(out))) // compile cache only; modules come fresh
	}
	install := exec.Command("go", "install", "github.com/claude-bottle/claude-bottle/cmd/claude-bottle")
	install.Dir, install.Env = installer, goEnv
	out, err := install.CombinedOutput()
	assert.NilError(t, err, string(out))
	bin := filepath.Join(gobin, "claude-bottle")

	// Run it from an empty directory, with no checkout to be found.
	work := filepath.Join(tmp, "work")
	assert.NilError(t, os.MkdirAll(work, 0o755))
	sidecars := "claude-bottle-sidecars:install-" + env.RunID
	t.Cleanup(func() { _ = dockerClient(t).RemoveImage(sidecars) })
	cliEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "CLAUDE_BOTTLE_HOME=" + filepath.Join(tmp, "cbhome"),
		"CLAUDE_BOTTLE_SIDECAR_IMAGE=" + sidecars}
	for _, k := range []string{"DOCKER_HOST", "CLAUDE_BOTTLE_SIDECAR_BUNDLE"} {
		if v, ok := itest.LookupEnv(k); ok {
			cliEnv = append(cliEnv, k+"="+v)
		}
	}
	cb := func(args ...string) (string, string, error) {
		c := exec.Command(bin, args...)
		c.Dir, c.Env = work, cliEnv
		var o, e strings.Builder
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		return o.String(), e.String(), err
	}
	o, e, err := cb("version", "--json")
	assert.NilError(t, err, e)
	var v map[string]any
	assert.NilError(t, json.Unmarshal([]byte(o), &v), o)
	assert.Equal(t, v["version"], "(devel)", "a replaced module is a source build")

	o, e, err = cb("up", "-d", "--json")
	assert.NilError(t, err, o+e)
	var up struct{ Slug string }
	assert.NilError(t, json.Unmarshal([]byte(o), &up), o)
	t.Cleanup(func() { _, _, _ = cb("down", up.Slug) })
	assert.Assert(t, is.Contains(e, "manifest: the embedded default bottle"))
	assert.Assert(t, is.Contains(e, "image "+sidecars+" is missing: building it"), e)
	labels, ok, err := itestImageLabels(env, sidecars)
	assert.NilError(t, err)
	assert.Assert(t, ok)
	assert.Equal(t, labels[images.LabelVersion], "(devel)")

	o, e, _ = cb("exec", up.Slug, "curl", "-sS", "--max-time", "10", "https://example.com/")
	assert.Assert(t, is.Contains(o+e, "egress: host example.com is not on this bottle's allowlist"), o+e)
}

func itestImageLabels(env *itest.Env, ref string) (map[string]string, bool, error) {
	img, err := env.Eng.InspectImage(context.Background(), ref)
	if err != nil {
		return nil, false, err
	}
	return img.Labels, true, nil
}
