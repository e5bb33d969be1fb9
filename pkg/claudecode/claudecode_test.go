package claudecode

import (
	"encoding/json"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/manifest"
)

func TestGlobalConfigAnswersEveryPrompt(t *testing.T) {
	data, err := Setup{Auth: manifest.ClaudeAPIKey, SuperviseURL: "http://supervise:9100/"}.GlobalConfig()
	assert.NilError(t, err)
	var cfg struct {
		Onboarding bool `json:"hasCompletedOnboarding"`
		Bypass     bool `json:"bypassPermissionsModeAccepted"`
		Auto       bool `json:"autoUpdates"`
		Keys       struct {
			Approved []string `json:"approved"`
		} `json:"customApiKeyResponses"`
		Projects map[string]struct {
			Trust bool `json:"hasTrustDialogAccepted"`
		} `json:"projects"`
		MCP map[string]struct {
			Type, URL string
		} `json:"mcpServers"`
	}
	assert.NilError(t, json.Unmarshal(data, &cfg))
	assert.Assert(t, cfg.Onboarding && cfg.Bypass && !cfg.Auto)
	p := manifest.ClaudePlaceholder(manifest.ClaudeAPIKey)
	assert.DeepEqual(t, cfg.Keys.Approved, []string{p[len(p)-20:]})
	assert.Assert(t, cfg.Projects[Workspace].Trust)
	assert.Equal(t, cfg.MCP["supervise"].URL, "http://supervise:9100/")

	data, err = Setup{Auth: manifest.ClaudeOAuth}.GlobalConfig()
	assert.NilError(t, err)
	assert.Assert(t, !strings.Contains(string(data), "customApiKeyResponses"), "no key to approve with oauth")
	assert.Assert(t, !strings.Contains(string(data), "mcpServers"))
}

func TestSettingsAndEnv(t *testing.T) {
	data, err := Setup{}.Settings()
	assert.NilError(t, err)
	for _, kv := range Env() {
		k, v, _ := strings.Cut(kv, "=")
		assert.Assert(t, is.Contains(string(data), `"`+k+`": "`+v+`"`))
	}
	assert.Assert(t, is.Contains(string(data), `"defaultMode": "bypassPermissions"`))
	assert.Assert(t, is.Contains(Env(), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"))
	assert.Assert(t, is.Contains(Env(), "DISABLE_AUTOUPDATER=1"))
}

func TestArgvAndUser(t *testing.T) {
	assert.DeepEqual(t, Argv("", nil), []string{"claude", "--dangerously-skip-permissions"})
	assert.DeepEqual(t, Argv("fix it", []string{"--model", "opus"}), []string{"claude", "--dangerously-skip-permissions", "-p", "fix it", "--model", "opus"})
	for in, want := range map[string]string{"": "agent", "root": "agent", "0": "agent", "0:0": "agent", "dev": "dev", "1001:1001": "1001"} {
		assert.Equal(t, User(in), want, in)
	}
}

// TestProvisionScriptQuotes: the user, branch and URL reach the shell
// quoted, and the JSON documents sit in quoted here-documents (no expansion).
func TestProvisionScriptQuotes(t *testing.T) {
	s, err := UserScript(Setup{Auth: manifest.ClaudeAPIKey}, "git://git-gate/workspace.git", "it's-$(x)")
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(s, `<<'CLAUDE_BOTTLE_EOF'`))
	assert.Assert(t, is.Contains(s, `git clone --quiet --branch 'it'\''s-$(x)' 'git://git-gate/workspace.git'`), s)
	assert.Assert(t, !strings.Contains(s, manifest.ClaudePlaceholder(manifest.ClaudeAPIKey)), "only the key's last 20 characters are in the config")
	assert.Assert(t, is.Contains(RootScript("it's"), `u='it'\''s'`))
}
