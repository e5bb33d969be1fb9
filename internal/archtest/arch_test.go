// Package archtest checks the layout docs/architecture.md draws: which
// packages are the host side, which run in the bottle, which are the
// contract both share, and what each may import.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/claude-bottle/claude-bottle/"

// The sides of the tree. Every package under pkg/ is on exactly one.
var (
	host = set("cli", "manifest", "bottle", "compose", "lifecycle", "engine", "images", "operator",
		"workspace", "claudecode", "selftest", "statedir")
	bottle = set("daemons", "initd", "egress", "pipelock", "dlp", "gitgate", "supervise")
	shared = set("contract", "daemoncfg", "approvals", "secretfp", "tlsca", "capfile", "termtext", "mitm")
)

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[module+"pkg/"+n] = true
	}
	return m
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ps []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return ps
}

func TestEveryPackageHasASide(t *testing.T) {
	for _, p := range list(t, "./pkg/...") {
		n := 0
		for _, s := range []map[string]bool{host, bottle, shared} {
			if s[p.ImportPath] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s is on %d sides: put it in one of host, bottle or shared here and in docs/architecture.md", p.ImportPath, n)
		}
	}
}

func TestImportRules(t *testing.T) {
	for _, p := range list(t, "./...") {
		for _, imp := range p.Imports {
			switch {
			case shared[p.ImportPath] && (host[imp] || bottle[imp]):
				t.Errorf("%s (shared) imports %s: the contract and shared packages import neither side", p.ImportPath, imp)
			case bottle[p.ImportPath] && host[imp]:
				t.Errorf("%s (bottle side) imports %s (host side)", p.ImportPath, imp)
			case host[p.ImportPath] && bottle[imp]:
				t.Errorf("%s (host side) imports %s (bottle side): share it through a contract package", p.ImportPath, imp)
			case strings.HasPrefix(imp, "github.com/docker/") && p.ImportPath != module+"pkg/engine":
				t.Errorf("%s imports the Docker SDK (%s): only pkg/engine does", p.ImportPath, imp)
			}
		}
	}
}

// TestDaemonsLinkNoHostCode: the sidecars image's programs carry nothing of
// the operator's side (no manifest, no CLI or TUI framework, no engine
// client). The DLP scanner's own dependencies (gitleaks, which brings a TOML
// decoder and a styling library) are the bottle's.
func TestDaemonsLinkNoHostCode(t *testing.T) {
	for _, p := range list(t, "-deps", "./cmd/claude-bottle-sidecar", "./cmd/initd") {
		bad := host[p.ImportPath]
		for _, f := range []string{"github.com/docker/", "github.com/charmbracelet/bubbletea", "github.com/spf13/cobra", "github.com/compose-spec/"} {
			bad = bad || strings.HasPrefix(p.ImportPath, f)
		}
		if bad {
			t.Errorf("the daemons link %s", p.ImportPath)
		}
	}
}

// TestFormatted: every Go file is as gofmt writes it (a moved package whose
// imports were rewritten by hand is the usual offender).
func TestFormatted(t *testing.T) {
	// The gofmt of the toolchain that runs the tests, whether or not its
	// bin directory is on PATH.
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	cmd := exec.Command(filepath.Join(strings.TrimSpace(string(root)), "bin", "gofmt"), "-l", ".")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gofmt: %v\n%s", err, out)
	}
	var bad []string
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasSuffix(f, "mage_output_file.go") { // mage's own, generated while it compiles
			bad = append(bad, f)
		}
	}
	if len(bad) > 0 {
		t.Errorf("not gofmt-formatted (run gofmt -w):\n%s", strings.Join(bad, "\n"))
	}
}
