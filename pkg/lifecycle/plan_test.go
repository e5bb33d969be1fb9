package lifecycle

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

func TestPlanCleanup(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	containers := []Resource{
		{Name: "claude-bottle-live-aaaaa", Slug: "live-aaaaa", Role: "agent", Running: true},
		{Name: "claude-bottle-sidecars-live-aaaaa", Slug: "live-aaaaa", Role: "sidecars", Running: true},
		{Name: "claude-bottle-dead-bbbbb", Slug: "dead-bbbbb", Role: "agent", Running: false},
		{Name: "claude-bottle-egress-dead-bbbbb", Slug: "dead-bbbbb", Role: "egress", Running: true},
		{Name: "claude-bottle-pipelock-new-ccccc", Slug: "new-ccccc", Role: "pipelock", Running: true},
	}
	networks := []Resource{
		{Name: "claude-bottle-internal-live-aaaaa", Slug: "live-aaaaa"},
		{Name: "claude-bottle-internal-gone-ddddd", Slug: "gone-ddddd"},
	}
	state := []StateEntry{
		{Name: "live-aaaaa", ModTime: now.Add(-time.Hour)},
		{Name: "new-ccccc", ModTime: now.Add(-30 * time.Second)}, // coming up: its agent starts last
		{Name: "old-eeeee", ModTime: now.Add(-time.Hour)},        // state without containers
		{Name: ".staging-x-123", ModTime: now},
		{Name: "notes.txt", ModTime: now.Add(-time.Hour)}, // not ours: left alone
	}
	o := PlanCleanup(containers, networks, state, "/h/state", now)
	assert.DeepEqual(t, o.Slugs, []string{"dead-bbbbb", "gone-ddddd", "old-eeeee"})
	assert.DeepEqual(t, o.Containers, []string{"claude-bottle-dead-bbbbb", "claude-bottle-egress-dead-bbbbb"})
	assert.DeepEqual(t, o.Networks, []string{"claude-bottle-internal-gone-ddddd"})
	assert.DeepEqual(t, o.StateDirs, []string{"/h/state/old-eeeee"})
	assert.DeepEqual(t, o.Staging, []string{"/h/state/.staging-x-123"})
	assert.Assert(t, !o.Empty())

	// The same bottle past the grace period without an agent is an orphan.
	o = PlanCleanup(containers[4:], nil, state[1:2], "/h/state", now.Add(OrphanGrace))
	assert.DeepEqual(t, o.Slugs, []string{"new-ccccc"})
	assert.Assert(t, PlanCleanup(nil, nil, nil, "/h/state", now).Empty())
}

func provisionPlan(t *testing.T, url string) *bottle.Plan {
	t.Helper()
	id := filepath.Join(t.TempDir(), "id")
	assert.NilError(t, os.WriteFile(id, []byte("key"), 0o600))
	m, err := manifest.Parse([]byte(`name = "prov"
[[git.repos]]
name = "app"
url = "`+url+`"
identity = "`+id+`"
host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
[supervise]
enabled = true
`), "p.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(func(string) (string, bool) { return "", false })
	assert.NilError(t, err)
	plan, err := bottle.Prepare(bottle.Options{Bottle: r, Shape: contract.Bundle, Layout: statedir.Layout{Home: t.TempDir()}, Slug: "prov-abcde"})
	assert.NilError(t, err)
	return plan
}

func TestProvisionScriptParses(t *testing.T) {
	script := ProvisionScript(provisionPlan(t, "ssh://git@git.example.com/acme/app.git"))
	out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput()
	assert.NilError(t, err, string(out))
	for _, want := range []string{"cat /etc/claude-bottle/ca/ca.pem >> /etc/ssl/certs/ca-certificates.crt", "/usr/local/share/ca-certificates/claude-bottle.crt"} {
		assert.Assert(t, is.Contains(script, want))
	}
	assert.Assert(t, !strings.Contains(script, "su "), "root in the agent has no CAP_SETUID; user steps run in their own exec")
	user := UserProvisionScript(provisionPlan(t, "ssh://git@git.example.com/acme/app.git"))
	out, err = exec.Command("sh", "-n", "-c", user).CombinedOutput()
	assert.NilError(t, err, string(out))
	assert.Assert(t, is.Contains(user, "claude mcp add --scope user --transport http supervise http://supervise:9100/"))
}

// The git part runs against a recording fake git: each value arrives as one
// argument, whatever it contains.
func TestGitConfigScriptQuoting(t *testing.T) {
	url := "ssh://git@git.example.com/acme/it's $(touch pwned) app.git"
	plan := provisionPlan(t, url)
	dir := t.TempDir()
	fake := filepath.Join(dir, "git")
	assert.NilError(t, os.WriteFile(fake, []byte("#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done >> \""+dir+"/calls\"\necho >> \""+dir+"/calls\"\n[ $# -eq 3 ] && exit 1\nexit 0\n"), 0o755))
	cmd := exec.Command("sh", "-c", GitConfigScript(plan))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, string(out))
	calls, err := os.ReadFile(filepath.Join(dir, "calls"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(calls), "[config][--system][url.git://git-gate/app.git.insteadOf]["+url+"]"))
	assert.Assert(t, is.Contains(string(calls), "[config][--system][user.email][agent@prov-abcde.bottle.invalid]"))
	_, err = os.Stat(filepath.Join(dir, "pwned"))
	assert.Assert(t, os.IsNotExist(err), "a value was executed")
	assert.Assert(t, !strings.Contains(string(calls), "[it's]"))
}
