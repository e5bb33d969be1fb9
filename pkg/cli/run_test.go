package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/workspace"
)

func lookupOf(m map[string]string) LookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const testKey = "sk-ant-api03-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKAA"

func TestRunManifestDefaultBottle(t *testing.T) {
	_, err := runManifest("", lookupOf(nil))
	assert.ErrorContains(t, err, "claude code needs a credential: export ANTHROPIC_API_KEY")

	r, err := runManifest("", lookupOf(map[string]string{manifest.EnvAPIKey: testKey}))
	assert.NilError(t, err)
	assert.Equal(t, r.Claude.Auth, manifest.ClaudeAPIKey)
	assert.Equal(t, r.AgentEnv[manifest.EnvAPIKey], manifest.ClaudePlaceholder(manifest.ClaudeAPIKey))
	assert.Equal(t, len(r.Tokens), 1)
	for _, kv := range r.TokenEnv() {
		assert.Assert(t, strings.HasSuffix(kv, "="+testKey))
	}
	ws := r.Git.Repos[len(r.Git.Repos)-1]
	assert.DeepEqual(t, ws, manifest.Repo{Name: workspace.RepoName, URL: contract.WorkspaceMount + "/workspace.git", Workspace: true})
	for _, v := range r.AgentEnv {
		assert.Assert(t, !strings.Contains(v, testKey))
	}
}

func TestRunManifestErrors(t *testing.T) {
	dir := t.TempDir()
	mf := filepath.Join(dir, "b.toml")
	assert.NilError(t, os.WriteFile(mf, []byte("name = \"x\"\n[[git.repos]]\nname = \"workspace\"\nurl = \"ssh://git@h/x.git\"\nidentity = \"/k\"\nhost_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\"\n"), 0o644))
	_, err := runManifest(mf, lookupOf(map[string]string{manifest.EnvAPIKey: testKey}))
	assert.ErrorContains(t, err, `git repo name "workspace" is reserved`)
}

func TestRunNeedsATerminalOrAPrompt(t *testing.T) {
	var out, errb strings.Builder
	code := Main(t.Context(), []string{"run"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, lookupOf(map[string]string{"CLAUDE_BOTTLE_HOME": t.TempDir()}))
	assert.Equal(t, code, ExitUsage)
	assert.Assert(t, is.Contains(errb.String(), "run without -p needs a terminal"), errb.String())
}

func TestExitCodePassedThrough(t *testing.T) {
	assert.NilError(t, exitCode(0))
	err := exitCode(42)
	var ec *ExitCodeError
	assert.Assert(t, errors.As(err, &ec))
	assert.Equal(t, ec.Code, 42)
}

func TestPullUnknownBottle(t *testing.T) {
	var out, errb strings.Builder
	code := Main(t.Context(), []string{"pull", "nope-abcde"}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, lookupOf(map[string]string{"CLAUDE_BOTTLE_HOME": t.TempDir()}))
	assert.Equal(t, code, ExitError)
	assert.Assert(t, is.Contains(errb.String(), "has no workspace"), errb.String())
}
