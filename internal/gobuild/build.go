// Package gobuild compiles the module's Go programs on the host for the
// images (CGO off, trimmed paths, no build ID), because HTTPS from inside
// build containers to the Go module proxy cannot be relied on.
package gobuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Binary is one program of the module built for the images.
type Binary struct {
	Name string // file name in the output directory
	Pkg  string // package path relative to the module root, e.g. "./cmd/initd"
}

// Binaries lists every program the images carry. A daemon lands in the
// multi-call sidecar binary only when its implementation has landed.
var Binaries = []Binary{
	{Name: "claude-bottle", Pkg: "./cmd/claude-bottle"},
	{Name: "initd", Pkg: "./cmd/initd"},
	{Name: "claude-bottle-sidecar", Pkg: "./cmd/claude-bottle-sidecar"},
	// The agent test image's stand-in for Claude Code.
	{Name: "claude-standin", Pkg: "./internal/standin/cmd/claude"},
}

// Options tunes Go. The zero value builds for linux on the host's architecture
// into build/bin/linux-<arch> under the current directory.
type Options struct {
	// Root is the module root; empty means the current directory.
	Root string
	// OutDir receives the binaries; empty means <Root>/build/bin/linux-<arch>.
	OutDir string
	// Arch is GOARCH; empty means the host's.
	Arch string
}

// RelOutDir is the default output directory relative to the module root.
func (o Options) RelOutDir() string { return filepath.Join("build", "bin", "linux-"+o.arch()) }

func (o Options) outDir() string {
	if o.OutDir != "" {
		return o.OutDir
	}
	root := o.Root
	if root == "" {
		root = "."
	}
	return filepath.Join(root, "build", "bin", "linux-"+o.arch())
}

func (o Options) arch() string {
	if o.Arch != "" {
		return o.Arch
	}
	return runtime.GOARCH
}

// Go builds every binary in Binaries statically (CGO_ENABLED=0) for linux and
// returns the output directory. Builds are reproducible: -trimpath, no VCS
// stamp, an empty build ID, so the same sources give the same bytes and the
// image cache keyed on them stays warm.
func Go(ctx context.Context, opts Options) (string, error) {
	out := opts.outDir()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("build binaries: %w", err)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", fmt.Errorf("build binaries: %w", err)
	}
	for _, b := range Binaries {
		args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", filepath.Join(abs, b.Name), b.Pkg}
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = opts.Root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+opts.arch())
		if msg, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, msg)
		}
	}
	return abs, nil
}
