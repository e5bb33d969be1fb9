//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	dc "github.com/ory/dockertest/v3/docker"
	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/cli"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// stageBottle parses src, resolves it against lookup (nil: an empty
// environment) and stages it under a fresh CLAUDE_BOTTLE_HOME, exactly as
// `up` does before it starts containers.
func stageBottle(t *testing.T, src string, shape contract.Shape, lookup func(string) (string, bool)) (*bottle.Plan, statedir.Layout) {
	t.Helper()
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	m, err := manifest.Parse([]byte(src), "test.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(lookup)
	assert.NilError(t, err)
	layout := statedir.Layout{Home: t.TempDir()}
	plan, err := bottle.Prepare(bottle.Options{Bottle: r, Shape: shape, SidecarImage: contract.SidecarImage(itest.LookupEnv), Layout: layout, User: compose.OperatorUser()})
	assert.NilError(t, err)
	assert.NilError(t, plan.Stage())
	return plan, layout
}

// cliRunner runs the claude-bottle CLI in-process with vars as its whole
// environment, plus the caller's DOCKER_HOST, bundle flag and sidecars image.
func cliRunner(t *testing.T, vars map[string]string) func(args ...string) (int, string, string) {
	t.Helper()
	for _, k := range []string{"DOCKER_HOST", contract.BundleEnv, contract.ImageEnv} {
		if v, ok := itest.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	return func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		// Not t.Context(): cleanups (run("down", …)) run after it is cancelled.
		code := cli.Main(context.Background(), args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb},
			func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
		return code, out.String(), errb.String()
	}
}

// slugFrom finds the slug of bottle name in up's output.
func slugFrom(t *testing.T, out, name string) string {
	t.Helper()
	for _, f := range strings.Fields(out) {
		if s := strings.TrimSuffix(f, ":"); strings.HasPrefix(s, name+"-") && contract.ValidateSlug(s) == nil {
			return s
		}
	}
	t.Fatalf("no %s-<slug> in up's output:\n%s", name, out)
	return ""
}

// upBottle runs `claude-bottle up -f manifest --detach` through run, fails
// the test unless it worked, takes the bottle down when the test ends, and
// returns the slug and up's output.
func upBottle(t *testing.T, run func(args ...string) (int, string, string), manifest, name string) (string, string) {
	t.Helper()
	code, out, errOut := run("up", "-f", manifest, "--detach")
	assert.Equal(t, code, 0, out+errOut)
	slug := slugFrom(t, out, name)
	t.Cleanup(func() { run("down", slug) })
	return slug, out
}

// assertGone checks that nothing of bottle slug remains: no container, no
// network, no state directory under home.
func assertGone(t *testing.T, env *itest.Env, home, slug string) {
	t.Helper()
	left, err := dockerClient(t).ListContainers(dc.ListContainersOptions{All: true, Filters: map[string][]string{"label": {contract.LabelSlug + "=" + slug}}})
	assert.NilError(t, err)
	assert.Equal(t, len(left), 0, "containers left behind")
	nets, err := dockerClient(t).FilteredListNetworks(map[string]map[string]bool{"label": {contract.LabelSlug + "=" + slug: true}})
	assert.NilError(t, err)
	assert.Equal(t, len(nets), 0, "networks left behind")
	_, err = os.Stat(home + "/state/" + slug)
	assert.Assert(t, os.IsNotExist(err), "state dir left behind")
}

func dcListImages(slug string) dc.ListImagesOptions {
	return dc.ListImagesOptions{All: true, Filters: map[string][]string{"label": {contract.LabelSlug + "=" + slug}}}
}
