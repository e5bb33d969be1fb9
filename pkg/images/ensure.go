package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/gobuild"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// ModulePath is the module whose source tree can build the images.
const ModulePath = "github.com/claude-bottle/claude-bottle"

// SourceRootEnv points at a claude-bottle checkout when the CLI runs
// outside one.
const SourceRootEnv = "CLAUDE_BOTTLE_SRC"

// SourceRoot finds the claude-bottle checkout: $CLAUDE_BOTTLE_SRC, else the
// first directory from dir upward whose go.mod declares ModulePath.
func SourceRoot(dir string, lookup func(string) (string, bool)) (string, error) {
	if v, ok := lookup(SourceRootEnv); ok && v != "" {
		if !isModuleRoot(v) {
			return "", fmt.Errorf("%s=%s is not a claude-bottle checkout (no go.mod of %s there)", SourceRootEnv, v, ModulePath)
		}
		return v, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if isModuleRoot(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("not inside a claude-bottle checkout (looked upward from %s): run it from one or set %s", dir, SourceRootEnv)
		}
	}
}

func isModuleRoot(d string) bool {
	data, err := os.ReadFile(filepath.Join(d, "go.mod"))
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), "module "+ModulePath)
}

// Known returns how to build ref when it is one of the project's images
// (sidecarImage is the configured sidecars tag).
func Known(ref, sidecarImage string, lookup func(string) (string, bool)) (Spec, bool) {
	switch ref {
	case AgentImage:
		v, _ := lookup(ClaudeCodeVersionEnv)
		return Agent(v), true
	case AgentTestImage:
		return AgentTest(), true
	case GitUpstreamTestImage:
		return GitUpstreamTest(), true
	case sidecarImage:
		return Sidecars(sidecarImage, gobuild.Options{}.RelOutDir()), true
	}
	return Spec{}, false
}

// ErrUnknownImage is returned for a missing image the project cannot build.
var ErrUnknownImage = errors.New("missing image")

// EnsureOptions tunes Ensure.
type EnsureOptions struct {
	SidecarImage string
	Lookup       func(string) (string, bool)
	// Dir is where to start looking for the source tree (default: cwd).
	Dir string
	// Out receives progress lines (one per step, with timings).
	Out io.Writer
	// Version is the running claude-bottle's version: images are labelled
	// with it, and a released version rebuilds an image another version
	// built (see Stale).
	Version string
}

// Ensure makes sure ref exists, building it through the same code as the
// mage targets (base image, static binaries for the sidecars) when it is
// one of the project's images. It reports whether it built anything.
func Ensure(ctx context.Context, eng *engine.Engine, ref string, opts EnsureOptions) (bool, error) {
	labels, present, err := eng.ImageLabels(ctx, ref)
	if err != nil {
		return false, err
	}
	spec, known := Known(ref, opts.SidecarImage, opts.Lookup)
	stale := present && known && Stale(labels, opts.Version)
	if present && !stale {
		return false, nil
	}
	if !known {
		return false, fmt.Errorf("%w %s: it is not one of claude-bottle's images; build or load it (docker build / docker load), or name another image in the manifest", ErrUnknownImage, ref)
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	why := "is missing"
	if stale {
		why = fmt.Sprintf("was built by claude-bottle %q, this is %s", labels[LabelVersion], opts.Version)
	}
	dir := opts.Dir
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return false, err
		}
	}
	// A checkout builds from its own files (fresh binaries); an installed
	// CLI builds from what it embeds and from itself.
	root, srcErr := SourceRoot(dir, opts.Lookup)
	embedded := srcErr != nil
	if embedded {
		var err error
		root, spec, err = embeddedRoot(spec)
		if err != nil {
			return false, fmt.Errorf("image %s %s and cannot be built: %w (no checkout either: %w)", ref, why, err, srcErr)
		}
		defer func() { _ = os.RemoveAll(root) }()
	}
	start := time.Now()
	fmt.Fprintf(out, "image %s %s: building it (first time: about a minute; the Debian base is built with debootstrap when absent)\n", ref, why)
	base, err := EnsureBase(ctx, eng, BaseOptions{Out: out})
	if err != nil {
		return false, err
	}
	if len(spec.Files) > 0 && !embedded {
		fmt.Fprintln(out, "building the static binaries")
		if _, err := gobuild.Go(ctx, gobuild.Options{Root: root}); err != nil {
			return false, err
		}
	}
	if _, err := Build(ctx, eng, spec, BuildOptions{Root: root, Base: base.Ref, Out: io.Discard, Version: opts.Version, Force: stale}); err != nil {
		return false, fmt.Errorf("build %s: %w", ref, err)
	}
	fmt.Fprintf(out, "image %s built in %.1fs\n", ref, time.Since(start).Seconds())
	return true, nil
}
