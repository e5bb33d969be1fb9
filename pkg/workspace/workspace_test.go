package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	assert.NilError(t, err, "%v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// userRepo makes a repository with two commits on "dev" and another branch.
func userRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	run(t, dir, "git", "init", "-q", "-b", "dev")
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\n"), 0o644))
	run(t, dir, "git", "add", ".")
	run(t, dir, "git", "commit", "-qm", "one")
	run(t, dir, "git", "branch", "other")
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("two\n"), 0o644))
	run(t, dir, "git", "commit", "-qam", "two")
	return dir
}

func refs(t *testing.T, dir string) string {
	return run(t, dir, "git", "for-each-ref", "--format=%(refname) %(objectname)")
}

// agentPush clones the mirror as the agent would (through the gate), commits
// on branch and pushes it back into the mirror.
func agentPush(t *testing.T, mirror, branch, file string) string {
	t.Helper()
	w := t.TempDir()
	run(t, w, "git", "clone", "-q", mirror, ".")
	run(t, w, "git", "checkout", "-q", "-B", branch)
	assert.NilError(t, os.WriteFile(filepath.Join(w, file), []byte("agent work\n"), 0o644))
	run(t, w, "git", "add", ".")
	run(t, w, "git", "commit", "-qm", "agent: "+file)
	run(t, w, "git", "push", "-q", "origin", "HEAD:refs/heads/"+branch)
	return run(t, w, "git", "rev-parse", "HEAD")
}

func TestCreateMirrorsTheCurrentBranchOnly(t *testing.T) {
	repo := userRepo(t)
	state := t.TempDir()
	before := refs(t, repo)
	rec, err := Create(t.Context(), Options{Repo: repo, StateDir: state})
	assert.NilError(t, err)
	assert.Equal(t, rec.Branch, "dev")
	assert.Equal(t, len(rec.Base), 1)
	mirror := MirrorPath(state)
	assert.Equal(t, run(t, mirror, "git", "for-each-ref", "--format=%(refname)"), "refs/heads/dev")
	assert.Equal(t, run(t, mirror, "git", "rev-list", "--count", "dev"), "2")
	assert.Equal(t, run(t, mirror, "git", "symbolic-ref", "HEAD"), "refs/heads/dev")
	assert.Equal(t, refs(t, repo), before, "the user's repository is only read")
}

func TestCreateIncludeUncommitted(t *testing.T) {
	repo := userRepo(t)
	assert.NilError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("edited\n"), 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(repo, "new.txt"), []byte("new\n"), 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(repo, ".gitignore"), []byte("*.log\n"), 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(repo, "x.log"), []byte("ignored\n"), 0o644))
	status := run(t, repo, "git", "status", "--porcelain")
	state := t.TempDir()

	rec, err := Create(t.Context(), Options{Repo: repo, StateDir: state})
	assert.NilError(t, err)
	assert.Equal(t, rec.Branch, "dev", "without the flag, uncommitted changes stay out")

	state = t.TempDir()
	rec, err = Create(t.Context(), Options{Repo: repo, StateDir: state, IncludeUncommitted: true})
	assert.NilError(t, err)
	assert.Equal(t, rec.Branch, "dev-uncommitted")
	mirror := MirrorPath(state)
	assert.Equal(t, run(t, mirror, "git", "show", "dev-uncommitted:a.txt"), "edited")
	assert.Equal(t, run(t, mirror, "git", "show", "dev-uncommitted:new.txt"), "new")
	files := run(t, mirror, "git", "ls-tree", "--name-only", "dev-uncommitted")
	assert.Assert(t, !strings.Contains(files, "x.log"), files)
	assert.Equal(t, run(t, mirror, "git", "rev-parse", "dev-uncommitted^"), run(t, repo, "git", "rev-parse", "HEAD"))
	assert.Equal(t, run(t, repo, "git", "status", "--porcelain"), status, "the user's index and work tree are untouched")
}

func TestCreateErrors(t *testing.T) {
	_, err := Create(t.Context(), Options{Repo: t.TempDir(), StateDir: t.TempDir()})
	assert.ErrorContains(t, err, "is not inside a git repository")
	empty := t.TempDir()
	run(t, empty, "git", "init", "-q")
	_, err = Create(t.Context(), Options{Repo: empty, StateDir: t.TempDir()})
	assert.ErrorContains(t, err, "has no commit yet")
}

// TestPullBringsBackOnlyPushedBranches: new and moved branches land under
// claude-bottle/<slug>/, untouched ones do not, the user's own refs,
// config and hooks are unchanged, and hostile names are refused.
func TestPullBringsBackOnlyPushedBranches(t *testing.T) {
	repo := userRepo(t)
	state := t.TempDir()
	rec, err := Create(t.Context(), Options{Repo: repo, StateDir: state})
	assert.NilError(t, err)
	mirror := MirrorPath(state)
	before := refs(t, repo)
	cfgBefore, err := os.ReadFile(filepath.Join(repo, ".git", "config"))
	assert.NilError(t, err)

	res, err := Pull(t.Context(), state, "demo-abcde", rec)
	assert.NilError(t, err)
	assert.Equal(t, len(res.Fetched), 0, "nothing pushed, nothing fetched")

	tip := agentPush(t, mirror, "feature/x", "f.txt")
	devTip := agentPush(t, mirror, "dev", "d.txt")
	res, err = Pull(t.Context(), state, "demo-abcde", rec)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Fetched, []Branch{
		{Name: "dev", Ref: "claude-bottle/demo-abcde/dev", Commit: devTip, New: 1},
		{Name: "feature/x", Ref: "claude-bottle/demo-abcde/feature/x", Commit: tip, New: 1},
	})
	assert.Equal(t, run(t, repo, "git", "show", "claude-bottle/demo-abcde/feature/x:f.txt"), "agent work")
	after := refs(t, repo)
	for _, line := range strings.Split(before, "\n") {
		assert.Assert(t, is.Contains(after, line), "existing ref changed: %s", line)
	}
	for _, line := range strings.Split(after, "\n") {
		assert.Assert(t, strings.Contains(before, line) || strings.HasPrefix(line, "refs/heads/claude-bottle/demo-abcde/"), "unexpected ref %s", line)
	}
	cfgAfter, err := os.ReadFile(filepath.Join(repo, ".git", "config"))
	assert.NilError(t, err)
	assert.Equal(t, string(cfgAfter), string(cfgBefore))
	_, err = os.Stat(filepath.Join(repo, ".git", "FETCH_HEAD"))
	assert.Assert(t, os.IsNotExist(err), "no FETCH_HEAD written")
}

// TestPullIgnoresWhatTheMirrorSays: a mirror whose config, hooks and
// alternates were tampered with (as a compromised gate could) runs nothing
// on the host, and hostile branch names are refused, not fetched.
func TestPullIgnoresWhatTheMirrorSays(t *testing.T) {
	repo := userRepo(t)
	state := t.TempDir()
	rec, err := Create(t.Context(), Options{Repo: repo, StateDir: state})
	assert.NilError(t, err)
	mirror := MirrorPath(state)
	agentPush(t, mirror, "ok", "ok.txt")
	marker := filepath.Join(t.TempDir(), "pwned")
	hook := "#!/bin/sh\ntouch " + marker + "\n"
	assert.NilError(t, os.MkdirAll(filepath.Join(mirror, "hooks"), 0o755))
	for _, h := range []string{"pre-upload-pack", "post-checkout", "reference-transaction", "fsmonitor"} {
		assert.NilError(t, os.WriteFile(filepath.Join(mirror, "hooks", h), []byte(hook), 0o755))
	}
	assert.NilError(t, os.WriteFile(filepath.Join(mirror, "config"), []byte("[core]\n\tbare = true\n\tfsmonitor = "+filepath.Join(mirror, "hooks", "fsmonitor")+"\n\thooksPath = hooks\n[uploadpack]\n\tpackObjectsHook = "+filepath.Join(mirror, "hooks", "fsmonitor")+"\n"), 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(mirror, "objects", "info", "alternates"), []byte(filepath.Join(repo, ".git", "objects")+"\n"), 0o644))
	sha := run(t, mirror, "git", "rev-parse", "ok")
	for _, bad := range []string{"-evil", "a..b", ".hidden", "x.lock", "ctl\x1b[31m", "sp ace"} {
		// Written as loose refs: what a gate that stopped checking could store.
		p := filepath.Join(mirror, "refs", "heads", bad)
		assert.NilError(t, os.WriteFile(p, []byte(sha+"\n"), 0o644))
	}
	res, err := Pull(t.Context(), state, "s-abcde", rec)
	if err != nil {
		t.Log(run(t, repo, "git", "ls-remote", mirror))
	}
	assert.NilError(t, err)
	_, err = os.Stat(marker)
	assert.Assert(t, os.IsNotExist(err), "a hook or helper from the mirror ran on the host")
	assert.Equal(t, len(res.Fetched), 1, "%+v", res)
	assert.Equal(t, res.Fetched[0].Name, "ok")
	assert.Assert(t, len(res.Refused) >= 4, "%v", res.Refused)
	out := refs(t, repo)
	assert.Assert(t, !strings.Contains(out, "evil") && !strings.Contains(out, "hidden"), out)
}

func TestCheckBranch(t *testing.T) {
	for _, ok := range []string{"main", "feature/x-1", "v1.2", "a_b+c", "claude/fix.bug"} {
		assert.NilError(t, CheckBranch(ok), ok)
	}
	for _, bad := range []string{"", "-x", "a..b", ".x", "x/.y", "x.lock", "x.", "a//b", "/a", "a/", "HEAD", "a b", "a\nb", "a\x1b", "é", "a~1", "a^", "a:b", "a?b", "a*b", "a[b", "a\\b", "a@{b", strings.Repeat("a", 201)} {
		assert.Assert(t, CheckBranch(bad) != nil, "%q accepted", bad)
	}
}

func FuzzCheckBranch(f *testing.F) {
	for _, s := range []string{"main", "a/b", "-x", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckBranch(s) != nil {
			return
		}
		// Anything accepted is a valid git branch name and safe on a
		// command line and a terminal.
		out, err := exec.Command("git", "check-ref-format", "--branch", s).CombinedOutput()
		if err != nil {
			t.Fatalf("%q accepted but git refuses it: %s", s, out)
		}
		if strings.HasPrefix(s, "-") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e || r == ' ' }) {
			t.Fatalf("%q accepted", s)
		}
	})
}

// TestPullRefusesATamperedLayout: a mirror whose directories were replaced
// by symbolic links (to the user's own .git, say) is refused before the host
// writes anything through them.
func TestPullRefusesATamperedLayout(t *testing.T) {
	for _, target := range []string{"", "objects", "objects/info"} {
		t.Run("link "+target, func(t *testing.T) {
			repo := userRepo(t)
			state := t.TempDir()
			rec, err := Create(t.Context(), Options{Repo: repo, StateDir: state})
			assert.NilError(t, err)
			mirror := MirrorPath(state)
			victim := filepath.Join(repo, ".git", target)
			cfgBefore, err := os.ReadFile(filepath.Join(repo, ".git", "config"))
			assert.NilError(t, err)
			p := filepath.Join(mirror, target)
			assert.NilError(t, os.RemoveAll(p))
			assert.NilError(t, os.Symlink(victim, p))
			_, err = Pull(t.Context(), state, "s-abcde", rec)
			assert.ErrorContains(t, err, "is not a directory")
			cfgAfter, err := os.ReadFile(filepath.Join(repo, ".git", "config"))
			assert.NilError(t, err)
			assert.Equal(t, string(cfgAfter), string(cfgBefore))
		})
	}
	// A config that is a link is replaced, not written through.
	repo := userRepo(t)
	state := t.TempDir()
	rec, err := Create(t.Context(), Options{Repo: repo, StateDir: state})
	assert.NilError(t, err)
	outside := filepath.Join(t.TempDir(), "bashrc")
	assert.NilError(t, os.WriteFile(outside, []byte("user's file\n"), 0o644))
	cfg := filepath.Join(MirrorPath(state), "config")
	assert.NilError(t, os.Remove(cfg))
	assert.NilError(t, os.Symlink(outside, cfg))
	_, err = Pull(t.Context(), state, "s-abcde", rec)
	assert.NilError(t, err)
	data, err := os.ReadFile(outside)
	assert.NilError(t, err)
	assert.Equal(t, string(data), "user's file\n")
}
