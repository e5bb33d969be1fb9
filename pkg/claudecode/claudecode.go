// Package claudecode prepares Claude Code to start inside a bottle with no
// interactive prompt: the settings and global state files that answer its
// first-run questions (onboarding, the API key confirmation, trust in the
// workspace folder, the acknowledgement of --dangerously-skip-permissions),
// the variables that turn off its auto-updater and non-essential traffic,
// and the command line `claude-bottle run` starts it with.
package claudecode

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/manifest"
)

// Workspace is where the agent's clone of the user's repository lives.
const Workspace = "/workspace"

// DefaultUser is the agent user of claude-bottle's images; Claude Code
// refuses --dangerously-skip-permissions as root, so run prefers it when the
// image's own user is root.
const DefaultUser = "agent"

// Env is the environment Claude Code runs with in a bottle: no
// auto-updater (the image pins the version; the registry is not reachable),
// no telemetry, error reporting or other non-essential traffic (their hosts
// are not on the allowlist, and blocked calls would only slow it down).
func Env() []string {
	return []string{
		"DISABLE_AUTOUPDATER=1",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_TELEMETRY=1",
		"DISABLE_ERROR_REPORTING=1",
		"DISABLE_BUG_COMMAND=1",
	}
}

// Setup describes one bottle's Claude Code.
type Setup struct {
	// Auth is manifest.ClaudeAPIKey or manifest.ClaudeOAuth.
	Auth string
	// SuperviseURL registers the supervise MCP server when not empty.
	SuperviseURL string
}

// GlobalConfig is ~/.claude.json: onboarding done, the placeholder API key
// approved (Claude Code remembers approved keys by their last 20
// characters), the permission-bypass warning accepted, the workspace
// trusted, auto-updates off, and supervise registered.
func (s Setup) GlobalConfig() ([]byte, error) {
	cfg := map[string]any{
		"hasCompletedOnboarding":        true,
		"bypassPermissionsModeAccepted": true,
		"autoUpdates":                   false,
		"projects": map[string]any{
			Workspace: map[string]any{
				"hasTrustDialogAccepted":        true,
				"hasCompletedProjectOnboarding": true,
				"allowedTools":                  []string{},
			},
		},
	}
	if s.Auth == manifest.ClaudeAPIKey {
		p := manifest.ClaudePlaceholder(s.Auth)
		cfg["customApiKeyResponses"] = map[string]any{"approved": []string{p[len(p)-20:]}, "rejected": []string{}}
	}
	if s.SuperviseURL != "" {
		cfg["mcpServers"] = map[string]any{"supervise": map[string]any{"type": "http", "url": s.SuperviseURL}}
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// Settings is ~/.claude/settings.json: the same variables as Env (so a
// `claude` started from `claude-bottle shell` behaves the same), bypass
// mode as the default and its start-up warning skipped.
func (s Setup) Settings() ([]byte, error) {
	env := map[string]string{}
	for _, kv := range Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return json.MarshalIndent(map[string]any{
		"env":                               env,
		"permissions":                       map[string]any{"defaultMode": "bypassPermissions"},
		"skipDangerousModePermissionPrompt": true,
		"autoUpdates":                       false,
	}, "", "  ")
}

// Argv is the command line of Claude Code: full permissions, headless with
// prompt when prompt is not empty, then the user's own arguments.
func Argv(prompt string, extra []string) []string {
	argv := []string{"claude", "--dangerously-skip-permissions"}
	if prompt != "" {
		argv = append(argv, "-p", prompt)
	}
	return append(argv, extra...)
}

// Exit codes of ProvisionScript besides 0.
const (
	ExitNoClaude = 3
	ExitNoUser   = 4
	ExitClone    = 5
)

// User is the user Claude Code runs as for an image whose configured user
// is imageUser ("" or root: DefaultUser; Claude Code refuses
// --dangerously-skip-permissions as root).
func User(imageUser string) string {
	u, _, _ := strings.Cut(imageUser, ":")
	switch u {
	case "", "root", "0":
		return DefaultUser
	}
	return u
}

// RootScript is the part of the agent's set-up for Claude Code that runs as
// uid 0 (without capabilities: the agent container has none): it checks
// that `claude` and user exist and makes Workspace writable by user. A
// Workspace the image made for user is used as it is; otherwise uid 0
// cannot chown it (no CAP_CHOWN), so it is made world-writable with the
// sticky bit, in a container only that user works in.
func RootScript(user string) string {
	return fmt.Sprintf(`set -e
u=%s
if ! command -v claude >/dev/null 2>&1; then echo "claude-bottle: no claude command in the agent image" >&2; exit %d; fi
if ! h=$(getent passwd "$u" | cut -d: -f6) || [ -z "$h" ]; then echo "claude-bottle: the agent image has no user $u: give it a non-root USER, or a user named %s" >&2; exit %d; fi
mkdir -p %s
if [ "$(stat -c %%U %s)" != "$u" ]; then chown "$u" %s 2>/dev/null || chmod 1777 %s; fi
`, shellQuote(user), ExitNoClaude, DefaultUser, ExitNoUser, Workspace, Workspace, Workspace, Workspace)
}

// UserScript is the part that runs as the agent's user: it writes the
// user's ~/.claude.json and ~/.claude/settings.json and clones cloneURL
// (branch) into Workspace.
func UserScript(s Setup, cloneURL, branch string) (string, error) {
	global, err := s.GlobalConfig()
	if err != nil {
		return "", err
	}
	settings, err := s.Settings()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`set -e
h=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
mkdir -p "$h/.claude"
(umask 077
cat > "$h/.claude.json" <<'CLAUDE_BOTTLE_EOF'
%s
CLAUDE_BOTTLE_EOF
cat > "$h/.claude/settings.json" <<'CLAUDE_BOTTLE_EOF'
%s
CLAUDE_BOTTLE_EOF
)
cd / && git clone --quiet --branch %s %s %s || exit %d
`, global, settings, shellQuote(branch), shellQuote(cloneURL), Workspace, ExitClone), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
