// Command claude is the integration tests' stand-in for Claude Code, built
// into the agent test image as /usr/local/bin/claude. It behaves like the
// real CLI where a bottle is concerned:
//
//   - like Claude Code, it refuses --dangerously-skip-permissions as root,
//     and stops (exit 90, "would prompt") wherever the real one would ask
//     something interactively: onboarding not done, the API key not
//     approved, the workspace not trusted, the bypass warning not accepted,
//     the auto-updater on;
//   - it reads its credential from ANTHROPIC_API_KEY (sent as x-api-key)
//     or CLAUDE_CODE_OAUTH_TOKEN (Authorization: Bearer) and calls
//     POST https://api.anthropic.com/v1/messages through the environment's
//     proxy, trusting the system's CA store;
//   - with -p it does what the prompt asks, printing progress line by line
//     as it goes: edit=FILE appends a line to FILE in the working
//     directory, branch=NAME commits and pushes it there (git push origin
//     HEAD:NAME), unpushed=1 commits once more without pushing, exit=N
//     ends with exit code N, pause=MS waits between steps.
//
// `claude mcp …` succeeds silently and `claude --version` prints a version.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const version = "0.0.0-standin (claude-bottle test)"

func main() { os.Exit(run(os.Args[1:])) }

func say(format string, args ...any) { fmt.Fprintf(os.Stdout, "standin-claude: "+format+"\n", args...) }

func run(args []string) int {
	if len(args) > 0 && args[0] == "mcp" {
		return 0
	}
	var prompt string
	skip := false
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--version", "-v":
			fmt.Println(version)
			return 0
		case "--dangerously-skip-permissions":
			skip = true
		case "-p", "--print":
			if i+1 < len(args) {
				prompt = args[i+1]
				i++
			}
		}
	}
	say("started (args: %d)", len(args))
	if skip && os.Geteuid() == 0 && os.Getenv("IS_SANDBOX") != "1" {
		fmt.Fprintln(os.Stderr, "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons")
		return 1
	}
	steps := map[string]string{}
	for _, f := range strings.Fields(prompt) {
		if k, v, ok := strings.Cut(f, "="); ok {
			steps[k] = v
		}
	}
	pause := 200 * time.Millisecond
	if ms, err := strconv.Atoi(steps["pause"]); err == nil {
		pause = time.Duration(ms) * time.Millisecond
	}
	key, oauth := os.Getenv("ANTHROPIC_API_KEY"), os.Getenv("CLAUDE_CODE_OAUTH_TOKEN")
	if why := wouldPrompt(key, skip); why != "" {
		say("would prompt: %s", why)
		return 90
	}
	say("no prompt needed")
	time.Sleep(pause)

	req, err := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages",
		strings.NewReader(`{"model":"claude-standin","max_tokens":16,"messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		say("request: %v", err)
		return 91
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	switch {
	case oauth != "":
		req.Header.Set("Authorization", "Bearer "+oauth)
	case key != "":
		req.Header.Set("x-api-key", key)
	default:
		say("no credential in the environment")
		return 92
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	resp, err := client.Do(req)
	if err != nil {
		say("model API: %v", err)
		return 93
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	first, _, _ := strings.Cut(string(body), "\n")
	say("model API answered %d: %s", resp.StatusCode, first)
	if resp.StatusCode != http.StatusOK {
		return 94
	}
	time.Sleep(pause)

	if f := steps["edit"]; f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			say("edit %s: %v", f, err)
			return 95
		}
		_, _ = fmt.Fprintf(fh, "edited by the stand-in claude: %s\n", prompt)
		_ = fh.Close()
		say("edited %s", f)
		time.Sleep(pause)
		if b := steps["branch"]; b != "" {
			for _, g := range [][]string{{"add", f}, {"commit", "-q", "-m", "stand-in claude: edit " + f}, {"push", "-q", "origin", "HEAD:refs/heads/" + b}} {
				if out, err := gitRun(g...); err != nil {
					say("git %s: %v: %s", g[0], err, out)
					return 96
				}
			}
			say("pushed %s", b)
			time.Sleep(pause)
		}
		if steps["unpushed"] == "1" {
			_ = os.WriteFile(f+".local", []byte("not pushed\n"), 0o644)
			for _, g := range [][]string{{"add", f + ".local"}, {"commit", "-q", "-m", "stand-in claude: local only"}} {
				if out, err := gitRun(g...); err != nil {
					say("git %s: %v: %s", g[0], err, out)
					return 96
				}
			}
			say("committed without pushing")
		}
	}
	code, _ := strconv.Atoi(steps["exit"])
	say("done, exit %d", code)
	return code
}

func gitRun(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// wouldPrompt says what the real Claude Code would stop and ask about.
func wouldPrompt(key string, skip bool) string {
	home, _ := os.UserHomeDir()
	data, err := os.ReadFile(filepath.Join(home, ".claude.json"))
	if err != nil {
		return "onboarding (no ~/.claude.json)"
	}
	var cfg struct {
		HasCompletedOnboarding        bool `json:"hasCompletedOnboarding"`
		BypassPermissionsModeAccepted bool `json:"bypassPermissionsModeAccepted"`
		CustomAPIKeyResponses         struct {
			Approved []string `json:"approved"`
		} `json:"customApiKeyResponses"`
		Projects map[string]struct {
			HasTrustDialogAccepted bool `json:"hasTrustDialogAccepted"`
		} `json:"projects"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "onboarding (unreadable ~/.claude.json)"
	}
	cwd, _ := os.Getwd()
	switch {
	case !cfg.HasCompletedOnboarding:
		return "onboarding"
	case skip && !cfg.BypassPermissionsModeAccepted:
		return "bypass permissions warning"
	case !cfg.Projects[cwd].HasTrustDialogAccepted:
		return "trust " + cwd
	case os.Getenv("DISABLE_AUTOUPDATER") != "1":
		return "auto-update"
	}
	if key != "" && len(key) >= 20 {
		ok := false
		for _, a := range cfg.CustomAPIKeyResponses.Approved {
			ok = ok || a == key[len(key)-20:]
		}
		if !ok {
			return "approve the API key"
		}
	}
	return ""
}
