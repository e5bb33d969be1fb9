package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

const (
	// UpstreamBase is the base every Dockerfile defaults to (ARG BASE_IMAGE).
	UpstreamBase = "debian:bookworm-slim"
	// LocalBase is the base built offline with debootstrap when UpstreamBase
	// is neither present nor pullable.
	LocalBase = "claude-bottle-base:bookworm"
	// baseRecipe versions how LocalBase is made; an image labelled with an
	// older recipe is rebuilt. Bump it whenever debootstrapImport changes.
	baseRecipe  = "2"
	labelRecipe = "dev.claude-bottle.base-recipe"
	// DefaultMirror is the Debian mirror debootstrap and apt use; override
	// with CLAUDE_BOTTLE_DEBIAN_MIRROR.
	DefaultMirror = "http://deb.debian.org/debian"
	// suite is the Debian release of the base.
	suite = "bookworm"
	// pullTimeout bounds the registry attempt: where no registry is reachable
	// it fails on DNS within a second or two, but a black-holed route must not
	// hang the build.
	pullTimeout = 45 * time.Second
)

// BaseOptions tunes EnsureBase. The zero value is the default.
type BaseOptions struct {
	// Mirror is the Debian mirror; empty means CLAUDE_BOTTLE_DEBIAN_MIRROR or DefaultMirror.
	Mirror string
	// SkipPull does not try the registry (useful where it is known unreachable).
	SkipPull bool
	// Out receives progress lines; nil discards them.
	Out io.Writer
}

// BaseResult says which base image is in use and how it was obtained.
type BaseResult struct {
	Ref    string // image reference to pass as BASE_IMAGE
	Source string // "present", "cached", "pulled" or "debootstrap"
}

// EnsureBase makes sure a Debian bookworm base image exists and returns its
// reference: debian:bookworm-slim when present or pullable, otherwise a local
// image built with debootstrap from Debian's mirror and imported. The local
// image is kept, so a second call is a cache hit that takes well under a second.
func EnsureBase(ctx context.Context, eng *engine.Engine, opts BaseOptions) (BaseResult, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if _, ok, err := eng.ImageLabels(ctx, UpstreamBase); err != nil {
		return BaseResult{}, err
	} else if ok {
		return BaseResult{Ref: UpstreamBase, Source: "present"}, nil
	}
	if labels, ok, err := eng.ImageLabels(ctx, LocalBase); err != nil {
		return BaseResult{}, err
	} else if ok && labels[labelRecipe] == baseRecipe {
		return BaseResult{Ref: LocalBase, Source: "cached"}, nil
	} else if ok {
		fmt.Fprintf(out, "base: %s was made by an older recipe (%q, now %q); rebuilding\n", LocalBase, labels[labelRecipe], baseRecipe)
	}
	if !opts.SkipPull {
		fmt.Fprintf(out, "base: trying to pull %s\n", UpstreamBase)
		pctx, cancel := context.WithTimeout(ctx, pullTimeout)
		err := eng.Pull(pctx, UpstreamBase, io.Discard)
		cancel()
		if err == nil {
			return BaseResult{Ref: UpstreamBase, Source: "pulled"}, nil
		}
		if ctx.Err() != nil {
			return BaseResult{}, ctx.Err()
		}
		fmt.Fprintf(out, "base: pull failed (%v); building %s offline with debootstrap\n", shortErr(err), LocalBase)
	}
	mirror := opts.Mirror
	if mirror == "" {
		mirror = os.Getenv("CLAUDE_BOTTLE_DEBIAN_MIRROR")
	}
	if mirror == "" {
		mirror = DefaultMirror
	}
	if u, err := url.Parse(mirror); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return BaseResult{}, fmt.Errorf("debian mirror %q: want an http:// or https:// URL, e.g. %s", mirror, DefaultMirror)
	}
	if err := debootstrapImport(ctx, eng, mirror, out); err != nil {
		return BaseResult{}, err
	}
	return BaseResult{Ref: LocalBase, Source: "debootstrap"}, nil
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// debootstrapImport builds a minimal bookworm root filesystem and imports it
// as LocalBase. The root filesystem is built in a temporary directory that is
// always removed; the image only appears once the import succeeded.
func debootstrapImport(ctx context.Context, eng *engine.Engine, mirror string, out io.Writer) error {
	if err := ensureDebootstrap(ctx, out); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "claude-bottle-base-")
	if err != nil {
		return fmt.Errorf("debootstrap: %w", err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "rootfs")

	fmt.Fprintf(out, "base: debootstrap --variant=minbase %s from %s (a few minutes on a cold machine)\n", suite, mirror)
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--components=main", suite, root, mirror)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap %s from %s: %w\n%s", suite, mirror, err, tail(msg, 2000))
	}
	// Trim what a container never needs and point apt at the same mirror
	// (plain HTTP works from inside docker build here; HTTPS does not).
	for _, glob := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*", "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*", "var/log/*.log"} {
		matches, _ := filepath.Glob(filepath.Join(root, glob))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return fmt.Errorf("trim rootfs: %w", err)
			}
		}
	}
	// Like Debian's slim images: packages installed later leave out docs,
	// manuals and translations, which a container never reads.
	excludes := "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/locale/*\npath-exclude /usr/share/lintian/*\n"
	if err := os.WriteFile(filepath.Join(root, "etc/dpkg/dpkg.cfg.d/claude-bottle-slim"), []byte(excludes), 0o644); err != nil {
		return fmt.Errorf("write dpkg excludes: %w", err)
	}
	// Nor keep apt's binary caches in image layers.
	if err := os.WriteFile(filepath.Join(root, "etc/apt/apt.conf.d/90claude-bottle-nocache"), []byte("Dir::Cache::pkgcache \"\";\nDir::Cache::srcpkgcache \"\";\n"), 0o644); err != nil {
		return fmt.Errorf("write apt config: %w", err)
	}
	sources := fmt.Sprintf("deb %[1]s %[2]s main\ndeb %[1]s %[2]s-updates main\n", mirror, suite)
	if err := os.WriteFile(filepath.Join(root, "etc/apt/sources.list"), []byte(sources), 0o644); err != nil {
		return fmt.Errorf("write apt sources: %w", err)
	}

	fmt.Fprintf(out, "base: importing %s\n", LocalBase)
	tarCmd := exec.CommandContext(ctx, "tar", "--numeric-owner", "-C", root,
		"--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "-c", ".")
	stdout, err := tarCmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("tar rootfs: %w", err)
	}
	var stderr tailBuffer
	tarCmd.Stderr = &stderr
	if err := tarCmd.Start(); err != nil {
		return fmt.Errorf("tar rootfs: %w", err)
	}
	importErr := eng.Import(ctx, stdout, LocalBase, []string{
		`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
		`LABEL dev.claude-bottle.base="debootstrap ` + suite + `" ` + labelRecipe + `="` + baseRecipe + `"`,
		`CMD ["/bin/bash"]`,
	})
	// Drain so tar can exit if the import stopped reading early.
	_, _ = io.Copy(io.Discard, stdout)
	tarErr := tarCmd.Wait()
	if tarErr != nil {
		tarErr = fmt.Errorf("tar rootfs: %w: %s", tarErr, stderr.String())
	}
	return errors.Join(importErr, tarErr)
}

// ensureDebootstrap installs debootstrap with apt when it is missing and we
// are root on a Debian-like system; otherwise it says what to install.
func ensureDebootstrap(ctx context.Context, out io.Writer) error {
	if _, err := exec.LookPath("debootstrap"); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return errors.New("debootstrap is not installed and no base image is available: " +
			"install debootstrap (Debian/Ubuntu: sudo apt-get install -y debootstrap) " +
			"or load debian:bookworm-slim into the engine (docker load), then run again")
	}
	fmt.Fprintln(out, "base: installing debootstrap with apt-get")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "debootstrap"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", args[0], err, tail(msg, 2000))
		}
	}
	return nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
