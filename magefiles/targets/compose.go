package targets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Compose renders compose projects.
type Compose mg.Namespace

// Render writes the compose YAML of every fixture bottle in both shapes to build/compose.
func (Compose) Render(ctx context.Context) error {
	files, err := RenderFixtures(ctx, filepath.Join("fixtures", "bottles"), filepath.Join("build", "compose"))
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(progress, "compose: %s\n", f)
	}
	return nil
}

// RenderFixtures renders each fixtures/bottles/*.toml for both shapes into
// outDir as <fixture>-<shape>.yml and returns the files written. Token refs of
// fixtures resolve to a placeholder (only slot names are rendered); the state
// root is the caller's CLAUDE_BOTTLE_HOME layout.
func RenderFixtures(ctx context.Context, fixturesDir, outDir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(fixturesDir, "*.toml"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("compose:render: no fixture manifests in %s", fixturesDir)
	}
	slices.Sort(paths)
	layout, err := statedir.FromEnv(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	lookup := func(k string) (string, bool) {
		if strings.HasPrefix(k, "CB_FIXTURE_") {
			return "fixture-placeholder-token", true
		}
		return os.LookupEnv(k)
	}
	var written []string
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		m, err := manifest.Load(p)
		if err != nil {
			return written, err
		}
		r, err := m.Resolve(lookup)
		if err != nil {
			return written, err
		}
		fx := strings.TrimSuffix(filepath.Base(p), ".toml")
		for _, shape := range []contract.Shape{contract.Legacy, contract.Bundle} {
			out, err := compose.Render(compose.Options{Bottle: r, Slug: r.Name + "-fixtr", Shape: shape, Layout: layout, User: compose.OperatorUser()})
			if err != nil {
				return written, fmt.Errorf("render %s (%s): %w", fx, shape, err)
			}
			dst := filepath.Join(outDir, fx+"-"+string(shape)+".yml")
			if err := statedir.WriteFileAtomic(outDir, filepath.Base(dst), out, 0o644); err != nil {
				return written, err
			}
			written = append(written, dst)
		}
	}
	return written, nil
}
