package gitgate

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/dlp"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
)

const awsKey = "AKIAQ7R2XNPLW3JKD5VT"

const canary = "tok_9fQ2vLx8Rk3mZpW7bT4nYc6sHd1gJe5uAa0"

func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Agent", "GIT_AUTHOR_EMAIL=agent@bottle", "GIT_COMMITTER_NAME=Agent", "GIT_COMMITTER_EMAIL=agent@bottle", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func commit(t testing.TB, dir, file, content, msg string) string {
	t.Helper()
	assert.NilError(t, os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644))
	run(t, dir, "add", file)
	run(t, dir, "commit", "-q", "-m", msg)
	return run(t, dir, "rev-parse", "HEAD")
}

func newRepo(t testing.TB) string {
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	return dir
}

func scanner(t testing.TB) *dlp.Scanner {
	fp, err := secretfp.Of("CANARY", canary)
	assert.NilError(t, err)
	s, err := dlp.New(dlp.Options{Known: []secretfp.Fingerprint{fp}, NoEntropy: true})
	assert.NilError(t, err)
	return s
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		in, repo, svc, ver, err string
	}{
		{in: "git-upload-pack /app.git\x00host=git-gate\x00", repo: "app", svc: "git-upload-pack"},
		{in: "git-receive-pack /app\x00host=git-gate\x00", repo: "app", svc: "git-receive-pack"},
		{in: "git-upload-pack /app.git\x00host=git-gate\x00\x00version=2\x00", repo: "app", svc: "git-upload-pack", ver: "2"},
		{in: "git-upload-archive /app.git\x00", err: "not offered"},
		{in: "git-upload-pack /../etc.git\x00", err: "served as git://git-gate/<name>.git"},
		{in: "git-upload-pack /a/b.git\x00", err: "served as"},
		{in: "git-upload-pack /~root\x00", err: "served as"},
		{in: "nonsense", err: "malformed"},
	} {
		req, err := ParseRequest(bufio.NewReader(strings.NewReader(pktLine(tc.in))))
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		assert.NilError(t, err)
		assert.DeepEqual(t, req, Request{Service: tc.svc, Repo: tc.repo, Version: tc.ver})
	}
	_, err := ParseRequest(bufio.NewReader(strings.NewReader("zzzz")))
	assert.ErrorContains(t, err, "malformed request line")
}

func TestCheckPolicy(t *testing.T) {
	dir := newRepo(t)
	a := commit(t, dir, "a", "a", "a")
	b := commit(t, dir, "b", "b", "b")
	run(t, dir, "reset", "-q", "--hard", a)
	c := commit(t, dir, "c", "c", "c") // diverges from b
	g := &Gate{Repos: map[string]daemoncfg.Repo{"app": {Name: "app"}, "loose": {Name: "loose", AllowDelete: true, AllowForcePush: true}}}
	err := g.CheckPolicy(t.Context(), dir, "app", Update{Old: b, New: ZeroID, Ref: "refs/heads/main"})
	assert.ErrorContains(t, err, "deleting refs/heads/main is not allowed for app")
	err = g.CheckPolicy(t.Context(), dir, "app", Update{Old: b, New: c, Ref: "refs/heads/main"})
	assert.ErrorContains(t, err, "not a fast-forward; force pushes are not allowed")
	assert.NilError(t, g.CheckPolicy(t.Context(), dir, "app", Update{Old: a, New: c, Ref: "refs/heads/main"}))
	assert.NilError(t, g.CheckPolicy(t.Context(), dir, "loose", Update{Old: b, New: c, Ref: "refs/heads/main"}))
	assert.NilError(t, g.CheckPolicy(t.Context(), dir, "loose", Update{Old: b, New: ZeroID, Ref: "refs/heads/main"}))
}

var sidecarBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gitgate-test-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "claude-bottle-sidecar")
	if msg, err := exec.Command("go", "build", "-o", out, "../../cmd/claude-bottle-sidecar").CombinedOutput(); err != nil {
		return "", &Rejection{Msg: string(msg)}
	}
	return out, nil
})

// startGate serves one repo whose upstream is unreachable (nothing listens
// on port 1), with the real sidecar binary as the hook.
func startGate(t *testing.T) (addr string) {
	t.Helper()
	bin, err := sidecarBin()
	assert.NilError(t, err)
	cfgDir := t.TempDir()
	fp, err := secretfp.Of("CANARY", canary)
	assert.NilError(t, err)
	f := daemoncfg.GitGate{Repos: []daemoncfg.Repo{{Name: "app", URL: "ssh://git@127.0.0.1:1/acme/app.git", Identity: "id-app"}}, KnownSecrets: []secretfp.Fingerprint{fp}}
	data, err := f.Marshal()
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "repos.yaml"), data, 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "id-app"), []byte("not a key"), 0o600))
	assert.NilError(t, os.WriteFile(filepath.Join(cfgDir, "known_hosts"), nil, 0o644))
	g, err := Load(cfgDir, t.TempDir(), bin, nil)
	assert.NilError(t, err)
	g.RemoteTimeout = 5 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = g.Serve(ctx, ln) }()
	return ln.Addr().String()
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestServeRefusesUndeclaredAndStale(t *testing.T) {
	addr := startGate(t)
	dir := t.TempDir()
	out, err := gitOut(dir, "ls-remote", "git://"+addr+"/other.git")
	assert.Assert(t, err != nil)
	assert.Assert(t, is.Contains(out, `git-gate: repository "other" is not declared for this bottle (declared: app)`), out)

	start := time.Now()
	out, err = gitOut(dir, "clone", "-q", "git://"+addr+"/app.git", "clone")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "git-gate: cannot refresh app"), out)
	assert.Assert(t, is.Contains(out, "refusing to serve stale data"), out)
	assert.Assert(t, time.Since(start) < 30*time.Second)
}

func TestPushThroughGate(t *testing.T) {
	addr := startGate(t)
	dir := newRepo(t)
	commit(t, dir, "README.md", "Docs: https://docs.example.com/?key="+awsKey+"\n", "docs")
	out, err := gitOut(dir, "push", "git://"+addr+"/app.git", "main")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "remote: git-gate: gitleaks rejected push to refs/heads/main: aws-access-token in "), out)
	for _, w := range []string{"resolve", "refused", "unreachable", "upstream"} {
		assert.Assert(t, !strings.Contains(strings.ToLower(out), w), "output mentions %q: %s", w, out)
	}

	// A clean push is scanned, then forwarding fails closed (no upstream).
	clean := newRepo(t)
	commit(t, clean, "main.go", "package main\n", "init")
	out, err = gitOut(clean, "push", "git://"+addr+"/app.git", "main")
	assert.Assert(t, err != nil, out)
	assert.Assert(t, is.Contains(out, "git-gate: forwarding refs/heads/main to ssh://git@127.0.0.1:1/acme/app.git failed, push rejected"), out)
}
