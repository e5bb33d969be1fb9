// Package gitgate is the agent's only git door: a git:// server for the
// bottle's declared repos that refreshes each mirror from upstream before
// serving it (failing closed), scans every push with pkg/dlp before anything
// leaves, and forwards clean pushes over SSH with the gate-held identity and
// a pinned host key.
package gitgate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// Environment of the pre-receive hook (set by the gate for receive-pack).
const (
	EnvRepo      = "GIT_GATE_REPO"
	EnvConfigDir = "GIT_GATE_CONFIG_DIR"
	EnvWorkDir   = "GIT_GATE_WORK_DIR"
)

// Timeouts: bounded, so an unreachable upstream fails closed instead of
// hanging the agent.
const (
	DefaultRemoteTimeout = 60 * time.Second
	sshConnectTimeout    = 10
)

// Gate holds the configuration of one git-gate.
type Gate struct {
	ConfigDir string // repos.yaml, known_hosts, identities (read-only)
	WorkDir   string // mirrors (writable)
	Repos     map[string]daemoncfg.Repo
	Order     []string
	// Self is the program receive-pack's pre-receive hook runs
	// ("<Self> git-gate pre-receive").
	Self          string
	Known         []secretfp.Fingerprint
	RemoteTimeout time.Duration
	Log           *slog.Logger

	locks sync.Map // repo name -> *sync.Mutex: one refresh or push at a time
}

// Load reads repos.yaml from configDir.
func Load(configDir, workDir, self string, log *slog.Logger) (*Gate, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	data, err := os.ReadFile(filepath.Join(configDir, contract.ReposFile))
	if err != nil {
		return nil, fmt.Errorf("git-gate: %w", err)
	}
	f, err := daemoncfg.ParseGitGate(data)
	if err != nil {
		return nil, fmt.Errorf("git-gate: %s: %w", filepath.Join(configDir, contract.ReposFile), err)
	}
	g := &Gate{ConfigDir: configDir, WorkDir: workDir, Repos: map[string]daemoncfg.Repo{}, Self: self, Known: f.KnownSecrets, RemoteTimeout: DefaultRemoteTimeout, Log: log}
	for _, r := range f.Repos {
		g.Repos[r.Name] = r
		g.Order = append(g.Order, r.Name)
		if r.Local() {
			continue
		}
		if _, err := os.Stat(filepath.Join(configDir, r.Identity)); err != nil {
			return nil, fmt.Errorf("git-gate: repo %s: identity: %w", r.Name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(configDir, contract.KnownHosts)); err != nil && len(f.Repos) > 0 {
		return nil, fmt.Errorf("git-gate: known_hosts: %w", err)
	}
	return g, nil
}

func (g *Gate) lock(name string) func() {
	m, _ := g.locks.LoadOrStore(name, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// MirrorPath is the gate's bare repo for name.
func (g *Gate) MirrorPath(name string) string { return filepath.Join(g.WorkDir, name+".git") }

// SSHCommand is GIT_SSH_COMMAND for a repo: its identity only, the pinned
// host keys only (no trust on first use), no prompts, bounded connect.
func (g *Gate) SSHCommand(r daemoncfg.Repo) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	return fmt.Sprintf("ssh -F /dev/null -i %s -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=%d -o LogLevel=ERROR",
		q(filepath.Join(g.ConfigDir, r.Identity)), q(filepath.Join(g.ConfigDir, contract.KnownHosts)), sshConnectTimeout)
}

// gitEnv is the environment of git commands that talk to upstream: the
// gate's hardened environment (gateEnv) plus the repo's ssh command. No
// proxy or agent-supplied ssh setting can steer the gate: nothing is
// inherited.
func (g *Gate) gitEnv(r daemoncfg.Repo) []string {
	return localEnv(r, gateEnv("GIT_SSH_COMMAND="+g.SSHCommand(r)))
}

// git runs git with args in dir and returns stdout; errors carry stderr.
func git(ctx context.Context, dir string, env []string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git %s: timed out: %s", args[0], msg)
		}
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return out.Bytes(), nil
}

// ensureMirror creates the bare mirror of r with the pre-receive hook wired,
// and (re)applies its settings on every call, so a mirror made by an older
// gate or with other limits gets the current ones.
func (g *Gate) ensureMirror(ctx context.Context, r daemoncfg.Repo) error {
	path := g.MirrorPath(r.Name)
	env := gateEnv()
	if _, err := os.Stat(filepath.Join(path, "HEAD")); err != nil {
		if err := os.MkdirAll(g.WorkDir, 0o700); err != nil {
			return err
		}
		if _, err := git(ctx, g.WorkDir, env, nil, "init", "--quiet", "--bare", path); err != nil {
			return err
		}
	}
	hooks := filepath.Join(path, "gate-hooks")
	if err := os.MkdirAll(hooks, 0o700); err != nil {
		return err
	}
	script := fmt.Sprintf("#!/bin/sh\nexec '%s' git-gate pre-receive\n", strings.ReplaceAll(g.Self, "'", `'\''`))
	if err := writeHook(filepath.Join(hooks, "pre-receive"), script); err != nil {
		return err
	}
	for _, kv := range mirrorConfig(hooks, RepoLimits(r)) {
		if _, err := git(ctx, path, env, nil, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// writeHook puts script at path, executable, unless it is there already.
// A push of the same repository may be running the hook right now (the
// mirror's lock is held by fetches and refreshes, not by receive-pack):
// rewriting a file that is being executed fails with "text file busy", so a
// changed hook is written beside it and renamed over it.
func writeHook(path, script string) error {
	if cur, err := os.ReadFile(path); err == nil && string(cur) == script {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == 0o700 {
			return nil
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pre-receive-*")
	if err != nil {
		return err
	}
	_, werr := tmp.WriteString(script)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o700)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// mirrorConfig is the receive side's configuration: the gate's hook and
// nothing else; deletions and force pushes decided by the hook per repo;
// every received object checked by fsck; the pack's size bounded before it
// is unpacked; no push options, no shallow updates, and no push
// certificates (no nonce seed is set, so --signed is not offered).
func mirrorConfig(hooks string, lim Limits) [][2]string {
	return [][2]string{
		{"core.hooksPath", hooks},
		{"receive.denyDeletes", "false"},
		{"receive.denyNonFastForwards", "false"},
		{"receive.fsckObjects", "true"},
		{"receive.advertisePushOptions", "false"},
		{"receive.shallowUpdate", "false"},
		{"receive.maxInputSize", strconv.FormatInt(lim.MaxPush, 10)},
		{"uploadpack.allowAnySHA1InWant", "false"},
	}
}

// Refresh brings the mirror of name up to date with upstream. It fails when
// upstream cannot be reached within the timeout: the gate never serves stale
// data.
func (g *Gate) Refresh(ctx context.Context, name string) error {
	r, ok := g.Repos[name]
	if !ok {
		return fmt.Errorf("repository %q is not declared for this bottle", name)
	}
	defer g.lock(name)()
	if err := g.ensureMirror(ctx, r); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, g.RemoteTimeout)
	defer cancel()
	start := time.Now()
	_, err := git(ctx, g.MirrorPath(name), g.gitEnv(r), nil, "fetch", "--quiet", "--prune", "--no-tags", r.URL,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	if err != nil {
		return fmt.Errorf("cannot refresh %s from %s: %w", name, r.URL, err)
	}
	if head, err := git(ctx, g.MirrorPath(name), g.gitEnv(r), nil, "ls-remote", "--symref", r.URL, "HEAD"); err == nil {
		if ref, ok := strings.CutPrefix(strings.SplitN(string(head), "\n", 2)[0], "ref: "); ok {
			ref, _, _ = strings.Cut(ref, "\t")
			_, _ = git(ctx, g.MirrorPath(name), gateEnv(), nil, "symbolic-ref", "HEAD", strings.TrimSpace(ref))
		}
	}
	g.Log.Info("refreshed", "repo", name, "took", time.Since(start).String())
	return nil
}
