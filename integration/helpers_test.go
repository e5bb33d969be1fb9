//go:build integration

package integration

import (
	"bytes"
	"context"
	"strings"
	"testing"

	dc "github.com/ory/dockertest/v3/docker"
	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/cli"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/sidecarflag"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// stageBottle parses src, resolves it against lookup (nil: an empty
// environment) and stages it under a fresh CLAUDE_BOTTLE_HOME, exactly as
// `up` does before it starts containers.
func stageBottle(t *testing.T, src string, shape sidecarflag.Shape, lookup func(string) (string, bool)) (*bottle.Plan, statedir.Layout) {
	t.Helper()
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	m, err := manifest.Parse([]byte(src), "test.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(lookup)
	assert.NilError(t, err)
	layout := statedir.Layout{Home: t.TempDir()}
	plan, err := bottle.Prepare(bottle.Options{Bottle: r, Shape: shape, Layout: layout, User: compose.OperatorUser()})
	assert.NilError(t, err)
	assert.NilError(t, plan.Stage())
	return plan, layout
}

// cliRunner runs the claude-bottle CLI in-process with vars as its whole
// environment, plus the caller's DOCKER_HOST and bundle flag.
func cliRunner(t *testing.T, vars map[string]string) func(args ...string) (int, string, string) {
	t.Helper()
	for _, k := range []string{"DOCKER_HOST", sidecarflag.BundleEnv} {
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
		if s := strings.TrimSuffix(f, ":"); strings.HasPrefix(s, name+"-") && names.ValidateSlug(s) == nil {
			return s
		}
	}
	t.Fatalf("no %s-<slug> in up's output:\n%s", name, out)
	return ""
}

func dcListImages(slug string) dc.ListImagesOptions {
	return dc.ListImagesOptions{All: true, Filters: map[string][]string{"label": {names.LabelSlug + "=" + slug}}}
}
