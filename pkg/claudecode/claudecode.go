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

// ProvisionScript is the root script that readies the agent for Claude
// Code. It picks the user Claude Code runs as (the image's own user unless
// that is root, then DefaultUser when the image has one), checks that
// `claude` exists, creates Workspace owned by that user, writes its
// ~/.claude.json and ~/.claude/settings.json, and prints
// "user=<name> home=<dir>" as its last line. imageUser is the image's
// configured user ("" for root).
func ProvisionScript(s Setup, imageUser string) (string, error) {
	global, err := s.GlobalConfig()
	if err != nil {
		return "", err
	}
	settings, err := s.Settings()
	if err != nil {
		return "", err
	}
	u, _, _ := strings.Cut(imageUser, ":")
	return fmt.Sprintf(`set -e
u=%s
case "$u" in ''|root|0) if id -u %s >/dev/null 2>&1; then u=%s; else u=root; fi ;; esac
case "$u" in *[!0-9]*) ;; *) u=$(getent passwd "$u" | cut -d: -f1) ;; esac
h=$(getent passwd "$u" | cut -d: -f6)
[ -n "$h" ] || h=/root
if ! command -v claude >/dev/null 2>&1; then echo "claude-bottle: no claude command in the agent image" >&2; exit 3; fi
mkdir -p %s "$h/.claude"
chown "$u" %s
umask 077
cat > "$h/.claude.json" <<'CLAUDE_BOTTLE_EOF'
%s
CLAUDE_BOTTLE_EOF
cat > "$h/.claude/settings.json" <<'CLAUDE_BOTTLE_EOF'
%s
CLAUDE_BOTTLE_EOF
chown -R "$u" "$h/.claude" "$h/.claude.json"
echo "user=$u home=$h"
`, shellQuote(u), DefaultUser, DefaultUser, Workspace, Workspace, global, settings), nil
}

// ParseProvisioned reads the user and home ProvisionScript printed.
func ParseProvisioned(out string) (user, home string, err error) {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	for _, f := range strings.Fields(last) {
		if v, ok := strings.CutPrefix(f, "user="); ok {
			user = v
		} else if v, ok := strings.CutPrefix(f, "home="); ok {
			home = v
		}
	}
	if user == "" || home == "" {
		return "", "", fmt.Errorf("provisioning printed no user: %q", last)
	}
	return user, home, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
