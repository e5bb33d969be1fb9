package images

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/claude-bottle/claude-bottle/dockerfiles"
)

// LabelVersion carries the version of the claude-bottle that built an
// image; an installed (released) CLI rebuilds an image whose label differs.
const LabelVersion = "dev.claude-bottle.version"

// Stale reports whether an image labelled labels was built by another
// claude-bottle than version. Only a released version judges: a build in a
// checkout ("(devel)", "") keeps what the mage targets built, which have
// their own input digests.
func Stale(labels map[string]string, version string) bool {
	if !Released(version) {
		return false
	}
	return labels[LabelVersion] != version
}

// Released reports whether version names a release or pseudo-version of
// the module (what `go install …@version` stamps), not a checkout build.
func Released(version string) bool {
	return version != "" && version != "(devel)" && version[0] == 'v'
}

// embeddedRoot lays out what building spec needs without a checkout, in a
// new temporary directory (removed by the caller): the Dockerfile from the
// copy embedded in this binary, and for the sidecars image this very
// executable as initd and claude-bottle-sidecar (cmd/claude-bottle runs as
// either when invoked under its name). It returns the directory and spec
// rewritten to it.
func embeddedRoot(spec Spec) (string, Spec, error) {
	if runtime.GOOS != "linux" {
		return "", Spec{}, fmt.Errorf("building images without a checkout needs a linux claude-bottle (this one is %s/%s): the sidecars image runs this binary", runtime.GOOS, runtime.GOARCH)
	}
	dir, err := os.MkdirTemp("", "claude-bottle-build-")
	if err != nil {
		return "", Spec{}, err
	}
	fail := func(err error) (string, Spec, error) {
		_ = os.RemoveAll(dir)
		return "", Spec{}, err
	}
	df, err := dockerfiles.FS.ReadFile(filepath.Base(spec.Dockerfile))
	if err != nil {
		return fail(fmt.Errorf("no embedded %s: %w", spec.Dockerfile, err))
	}
	out := spec
	out.Dockerfile = "Dockerfile"
	if err := os.WriteFile(filepath.Join(dir, out.Dockerfile), df, 0o600); err != nil {
		return fail(err)
	}
	if len(spec.Files) > 0 {
		exe, err := os.Executable()
		if err != nil {
			return fail(fmt.Errorf("find this executable: %w", err))
		}
		if err := checkStatic(exe); err != nil {
			return fail(err)
		}
		out.Files = map[string]string{}
		for name := range spec.Files {
			if err := copyFile(exe, filepath.Join(dir, name)); err != nil {
				return fail(err)
			}
			out.Files[name] = name
		}
	}
	return dir, out, nil
}

// ErrNotStatic is returned when this binary cannot run inside an image.
var ErrNotStatic = errors.New("this claude-bottle is dynamically linked")

// checkStatic refuses a dynamically linked executable (built with cgo): it
// would need the host's C library inside the Debian image.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w (%s): it cannot run in the sidecars image; reinstall with CGO_ENABLED=0 go install github.com/claude-bottle/claude-bottle/cmd/claude-bottle@<version>, or run from a checkout", ErrNotStatic, path)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755) //nolint:gosec // an executable for the image
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
