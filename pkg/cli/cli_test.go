package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["CLAUDE_BOTTLE_HOME"]; !ok {
		env["CLAUDE_BOTTLE_HOME"] = "/home/op/.claude-bottle"
	}
	code := Main(t.Context(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb},
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return code, out.String(), errb.String()
}

func TestHelpAndUnknown(t *testing.T) {
	code, out, _ := runCLI(t, nil)
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, "render"))
	code, _, errOut := runCLI(t, nil, "frobnicate")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, `unknown command "frobnicate" for "claude-bottle"`))
	code, out, _ = runCLI(t, nil, "version")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, "claude-bottle "))
}

func TestRenderDefaultLegacyAndBundle(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "render", "--slug", "default-abcde")
	assert.Equal(t, code, ExitOK, errOut)
	assert.Assert(t, is.Contains(out, "name: claude-bottle-default-abcde"))
	assert.Assert(t, is.Contains(out, "\n  pipelock:\n"))
	assert.Assert(t, !strings.Contains(out, "\n  sidecars:\n"))

	code, out, _ = runCLI(t, map[string]string{"CLAUDE_BOTTLE_SIDECAR_BUNDLE": " On "}, "render", "--slug", "default-abcde")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, "\n  sidecars:\n"))
	assert.Assert(t, is.Contains(out, "image: claude-bottle-sidecars:latest"))

	code, out, _ = runCLI(t, map[string]string{"CLAUDE_BOTTLE_SIDECAR_BUNDLE": "1", "CLAUDE_BOTTLE_SIDECAR_IMAGE": "my/sc:1"}, "render")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, "image: my/sc:1"))
	assert.Assert(t, is.Contains(out, "name: claude-bottle-default-"), "a fresh slug")
}

func TestRenderManifestFile(t *testing.T) {
	dir := fs.NewDir(t, "render",
		fs.WithFile("ok.toml", "name = \"demo\"\n[[egress.routes]]\nhost = \"api.github.com\"\nauth = { scheme = \"token\", token_ref = \"GH_PAT\" }\n"),
		fs.WithFile("bad.toml", "name = \"Demo\"\nbogus = 1\n"))
	code, out, errOut := runCLI(t, map[string]string{"GH_PAT": "ghp_valuevaluevalue"}, "render", "-f", dir.Join("ok.toml"), "--slug", "demo-abcde")
	assert.Equal(t, code, ExitOK, errOut)
	assert.Assert(t, is.Contains(out, "- EGRESS_TOKEN_1\n"))
	assert.Assert(t, !strings.Contains(out, "ghp_value"))

	code, _, errOut = runCLI(t, nil, "render", "-f", dir.Join("ok.toml"))
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "host variable GH_PAT is not set"))

	code, _, errOut = runCLI(t, nil, "render", "-f", dir.Join("bad.toml"))
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "(2 problems)"))
	assert.Assert(t, is.Contains(errOut, "line 1: name:"))
	assert.Assert(t, is.Contains(errOut, "line 2: bogus: unknown key"))

	code, _, errOut = runCLI(t, nil, "render", "--slug", "../../etc")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "invalid bottle slug"))

	code, _, errOut = runCLI(t, nil, "render", "--nope")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "unknown flag: --nope"))

	code, _, errOut = runCLI(t, nil, "render", "bottle.toml")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "the manifest goes after -f"))
}

func TestSuperviseCommands(t *testing.T) {
	home := t.TempDir()
	e := map[string]string{"CLAUDE_BOTTLE_HOME": home}
	code, out, _ := runCLI(t, e, "supervise")
	assert.Equal(t, code, ExitOK)
	assert.Equal(t, out, "no pending proposals\n")
	code, out, _ = runCLI(t, e, "supervise", "ls", "--json")
	assert.Equal(t, code, ExitOK)
	assert.Equal(t, out, "[]\n")

	q := approvals.Queue{Dir: filepath.Join(home, "queue", "demo-abcde")}
	p, _, err := q.Submit(approvals.Proposal{Slug: "demo-abcde", Kind: approvals.KindEgress, Host: "api.github.com", Paths: []string{"/repos/acme/"}, Justification: "open a pull request for the fix"}, time.Now())
	assert.NilError(t, err)
	code, out, _ = runCLI(t, e, "supervise", "ls")
	assert.Equal(t, code, ExitOK)
	assert.Assert(t, is.Contains(out, p.ID))
	assert.Assert(t, is.Contains(out, "route host: api.github.com paths: /repos/acme/"))

	code, _, errOut := runCLI(t, e, "supervise", "reject", p.ID)
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "--reason is required"))
	code, _, errOut = runCLI(t, e, "supervise", "reject")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "give the proposal ID"))
	code, _, errOut = runCLI(t, e, "supervise", "frob")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, `unknown subcommand "frob"`))

	code, out, errOut = runCLI(t, e, "supervise", "reject", p.ID, "--reason", "not for this task")
	assert.Equal(t, code, ExitOK, errOut)
	assert.Equal(t, out, "rejected "+p.ID+"\n")
	r, ok, err := q.Response(p.ID)
	assert.NilError(t, err)
	assert.Assert(t, ok && r.Decision == approvals.Rejected)
}

// stageDefault stages the embedded default bottle under home as slug, the
// way up does before it starts containers.
func stageDefault(t *testing.T, home, slug string) {
	t.Helper()
	m, err := manifest.Default()
	assert.NilError(t, err)
	r, err := m.Resolve(func(string) (string, bool) { return "", false })
	assert.NilError(t, err)
	p, err := bottle.Prepare(bottle.Options{Bottle: r, Slug: slug, Shape: contract.Legacy, Layout: statedir.Layout{Home: home}})
	assert.NilError(t, err)
	assert.NilError(t, p.Stage())
}

func TestAllowListsAndValidates(t *testing.T) {
	home := t.TempDir()
	e := map[string]string{"CLAUDE_BOTTLE_HOME": home}
	code, _, errOut := runCLI(t, e, "allow")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "give the bottle's slug"))
	code, _, errOut = runCLI(t, e, "allow", "gone-abcde")
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "no such bottle: gone-abcde has no state"))

	code, _, errOut = runCLI(t, e, "render", "--slug", "default-abcde")
	assert.Equal(t, code, ExitOK, errOut)
	// A staged bottle's allowlist reads back one host per line.
	stageDefault(t, home, "default-abcde")
	code, out, errOut := runCLI(t, e, "allow", "default-abcde")
	assert.Equal(t, code, ExitOK, errOut)
	assert.Equal(t, out, "api.anthropic.com\n")
}

func TestSelftestValidatesBeforeTouchingTheEngine(t *testing.T) {
	home := t.TempDir()
	e := map[string]string{"CLAUDE_BOTTLE_HOME": home}
	code, _, errOut := runCLI(t, e, "selftest")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "usage: claude-bottle selftest SLUG"))
	code, _, errOut = runCLI(t, e, "selftest", "../etc")
	assert.Equal(t, code, ExitUsage, errOut)
	code, _, errOut = runCLI(t, e, "selftest", "gone-abcde")
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errOut, "no bottle gone-abcde under "+home))

	stageDefault(t, home, "default-abcde")
	code, _, errOut = runCLI(t, e, "selftest", "default-abcde", "--secret-env", "OK_VAR,1BAD")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, `--secret-env: "1BAD" is not a variable name`))
	code, _, errOut = runCLI(t, e, "selftest", "default-abcde", "--allowed-url", "http://plain.example.com")
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errOut, "--allowed-url must be an https:// URL"))
}
