package gitgate

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

// TestLocalUpstream: a repo whose upstream is a local bare repository (the
// workspace mirror of `claude-bottle run`) is served from it, a clean push
// lands in it after the scan, and a push carrying a secret is rejected with
// nothing written there.
func TestLocalUpstream(t *testing.T) {
	bin, err := sidecarBin()
	assert.NilError(t, err)
	upstream := filepath.Join(t.TempDir(), "workspace.git")
	run(t, t.TempDir(), "init", "-q", "--bare", "-b", "main", upstream)
	seed := newRepo(t)
	commit(t, seed, "README.md", "hello\n", "init")
	run(t, seed, "push", "-q", upstream, "main")

	cfgDir := t.TempDir()
	fp, err := secretfp.Of("CANARY", canary)
	assert.NilError(t, err)
	data, err := daemoncfg.GitGate{Repos: []daemoncfg.Repo{{Name: "workspace", URL: upstream}}, KnownSecrets: []secretfp.Fingerprint{fp}}.Marshal()
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "repos.yaml"), data, 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "known_hosts"), nil, 0o644))
	g, err := Load(cfgDir, t.TempDir(), bin, nil)
	assert.NilError(t, err)
	g.RemoteTimeout = 5 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = g.Serve(ctx, ln) }()
	url := "git://" + ln.Addr().String() + "/workspace.git"

	work := t.TempDir()
	out, err := gitOut(work, "clone", "-q", url, "w")
	assert.NilError(t, err, out)
	w := filepath.Join(work, "w")
	commit(t, w, "feature.txt", "agent work\n", "agent")
	out, err = gitOut(w, "push", "origin", "HEAD:refs/heads/agent-branch")
	assert.NilError(t, err, out)
	assert.Assert(t, is.Contains(out, "git-gate: scanned and forwarded refs/heads/agent-branch"), out)
	assert.Equal(t, run(t, upstream, "rev-parse", "agent-branch"), run(t, w, "rev-parse", "HEAD"))

	commit(t, w, "leak.txt", "key="+awsKey+"\n", "oops")
	out, err = gitOut(w, "push", "origin", "HEAD:refs/heads/leak")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "git-gate: gitleaks rejected push"), out)
	_, err = gitOut(upstream, "rev-parse", "--verify", "refs/heads/leak")
	assert.Assert(t, err != nil, "a rejected push must not reach the local upstream")
}

func TestLocalRepoConfig(t *testing.T) {
	_, err := daemoncfg.ParseGitGate([]byte("repos:\n- name: w\n  url: /x/w.git\n"))
	assert.NilError(t, err)
}
