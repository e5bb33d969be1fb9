package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version overrides the version read from the build info when it is
// stamped at link time (-ldflags "-X .../pkg/cli.Version=v1.2.3"); empty
// otherwise.
var Version = ""

// VersionInfo is what `claude-bottle version --json` prints.
type VersionInfo struct {
	// Version is the module version the binary was built from: the tag of a
	// `go install …@vX.Y.Z`, a pseudo-version, or "(devel)" for a build in a
	// checkout.
	Version string `json:"version"`
	// Revision and Time are the VCS commit and its time, when the build
	// recorded them (a build in a git checkout); Modified means the tree had
	// uncommitted changes.
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// GoVersion and Platform are the toolchain and GOOS/GOARCH.
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// BuildVersion reads the binary's version from its build information.
func BuildVersion() VersionInfo {
	v := VersionInfo{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Version = moduleVersion(bi)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if Version != "" {
		v.Version = Version
	}
	return v
}

// modulePath is claude-bottle's module.
const modulePath = "github.com/claude-bottle/claude-bottle"

// moduleVersion is claude-bottle's version in bi: the main module's (go
// install …@v, a checkout), or, when another module built the binary, the
// dependency's — "(devel)" when that dependency is replaced by a local
// directory, which is a source build, not a release.
func moduleVersion(bi *debug.BuildInfo) string {
	m := &bi.Main
	if m.Path != modulePath {
		m = nil
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				m = d
				break
			}
		}
	}
	switch {
	case m == nil || m.Version == "":
		return "(devel)"
	case m.Replace != nil && m.Replace.Version == "":
		return "(devel)"
	case m.Replace != nil:
		return m.Replace.Version
	}
	return m.Version
}

// String is the one-line form: "v1.2.3", or "(devel) 0123abcd4567+dirty".
func (v VersionInfo) String() string {
	s := v.Version
	if v.Revision != "" {
		rev := v.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " " + rev
		if v.Modified {
			s += "+dirty"
		}
	}
	return s
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the version (from the binary's build information)",
		Long: `Prints the version the binary was built from: the module version of a
` + "`go install …@vX.Y.Z`" + `, or "(devel)" and the commit for a build in a checkout.`,
		Example: `  claude-bottle version
  claude-bottle version --json | jq -r .version`,
		Args: exactArgs(0, "takes no arguments"),
		RunE: func(*cobra.Command, []string) error {
			v := BuildVersion()
			if asJSON {
				return writeJSON(a.stdio.Out, v)
			}
			fmt.Fprintf(a.stdio.Out, "claude-bottle %s (%s, %s)\n", v, v.GoVersion, v.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
