// Package workspace moves a user's repository into a bottle and the agent's
// work back out, on the host, with the user's own git:
//
//   - Create makes a bare mirror of the repository's current branch (and,
//     when asked, a commit of its uncommitted changes on a branch of its own)
//     in the bottle's state directory. git-gate serves it to the agent as
//     its upstream and pushes into it only what passed its scan.
//   - Pull fetches the branches the agent pushed into the user's repository
//     as refs/heads/claude-bottle/<slug>/<branch>, and nothing else: hooks
//     off, the mirror's configuration reset first, refspecs naming each ref,
//     hostile branch names refused.
//
// The mirror is written by git-gate, which the agent talks to, so everything
// read back from it is treated as hostile input.
package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
)

// RepoName is the name git-gate serves the workspace under
// (git://git-gate/workspace.git).
const RepoName = "workspace"

// MirrorDir is the directory of the state dir that holds the mirror; it is
// the only part of the state dir git-gate may write.
const MirrorDir = "workspace"

// RecordFile (in the state dir, outside MirrorDir) records where the
// workspace came from; git-gate cannot reach it.
const RecordFile = "workspace.json"

// BranchPrefix is where the agent's branches land in the user's repository.
const BranchPrefix = "claude-bottle/"

// mirrorConfig is the mirror's whole git configuration. Pull writes it again
// before reading the mirror, so nothing git-gate (or a push through it)
// might have put there is ever honoured by the host's git.
const mirrorConfig = "[core]\n\trepositoryformatversion = 0\n\tbare = true\n\thooksPath = /dev/null\n\tfsmonitor = false\n[receive]\n\tdenyDeletes = true\n\tfsckObjects = true\n[uploadpack]\n\tallowAnySHA1InWant = false\n"

// Record is what Create leaves for Pull.
type Record struct {
	// Repo is the user's repository (its top-level directory).
	Repo string `json:"repo"`
	// Branch is the branch the agent starts on.
	Branch string `json:"branch"`
	// Base maps each branch of the new mirror to its commit: a branch the
	// agent leaves there is not fetched back.
	Base map[string]string `json:"base"`
}

// Options are the inputs of Create.
type Options struct {
	// Repo is a directory inside the user's repository.
	Repo string
	// StateDir is the bottle's state directory (it must exist).
	StateDir string
	// IncludeUncommitted commits the work tree's uncommitted changes
	// (tracked and untracked, .gitignore honoured) on the branch
	// "<branch>-uncommitted" of the mirror, and the agent starts there.
	IncludeUncommitted bool
}

// git runs the host's git with args in dir, without the caller's hooks or
// terminal prompts, and returns stdout; errors carry stderr.
func git(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "core.hooksPath=/dev/null"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// MirrorPath is the bare mirror inside a state dir.
func MirrorPath(stateDir string) string { return filepath.Join(stateDir, MirrorDir, RepoName+".git") }

// Create makes the mirror and its record. The user's repository is only
// read.
func Create(ctx context.Context, opts Options) (*Record, error) {
	top, err := git(ctx, opts.Repo, nil, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s is not inside a git repository (run claude-bottle run in one, or pass --repo): %w", opts.Repo, err)
	}
	top = strings.TrimSpace(top)
	head, err := git(ctx, top, nil, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	if err != nil {
		return nil, fmt.Errorf("%s has no commit yet: commit something first, the agent starts from a commit", top)
	}
	head = strings.TrimSpace(head)
	var branch string
	if b, err := git(ctx, top, nil, "symbolic-ref", "--quiet", "--short", "HEAD"); err == nil {
		branch = strings.TrimSpace(b)
	} else {
		branch = "detached-" + head[:12]
	}
	if err := CheckBranch(branch); err != nil {
		return nil, fmt.Errorf("current branch: %w", err)
	}
	mirror := MirrorPath(opts.StateDir)
	if err := os.MkdirAll(filepath.Dir(mirror), 0o700); err != nil {
		return nil, err
	}
	if _, err := git(ctx, opts.StateDir, nil, "init", "--quiet", "--bare", mirror); err != nil {
		return nil, err
	}
	if err := resetMirror(mirror); err != nil {
		return nil, err
	}
	// The mirror fetches the branch's history from the user's repository:
	// a copy, never hard links, so nothing git-gate later does to the
	// mirror's files can touch the user's objects.
	if _, err := git(ctx, mirror, nil, "fetch", "--quiet", "--no-tags", "--no-recurse-submodules", top, head+":refs/heads/"+branch); err != nil {
		return nil, fmt.Errorf("copy %s into the bottle: %w", branch, err)
	}
	start := branch
	if opts.IncludeUncommitted {
		wip, err := commitUncommitted(ctx, top, mirror, branch, head)
		if err != nil {
			return nil, err
		}
		if wip != "" {
			start = wip
		}
	}
	if _, err := git(ctx, mirror, nil, "symbolic-ref", "HEAD", "refs/heads/"+start); err != nil {
		return nil, err
	}
	rec := &Record{Repo: top, Branch: start, Base: map[string]string{}}
	refs, err := git(ctx, mirror, nil, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(refs), "\n") {
		if sha, ref, ok := strings.Cut(line, " "); ok {
			rec.Base[strings.TrimPrefix(ref, "refs/heads/")] = sha
		}
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(opts.StateDir, RecordFile), append(data, '\n'), 0o600); err != nil {
		return nil, err
	}
	return rec, nil
}

// commitUncommitted writes the work tree's state (tracked and untracked
// files, .gitignore honoured) as a commit on top of head into the mirror's
// object store, on branch "<branch>-uncommitted". The user's index, work tree
// and refs are untouched. It returns "" when there is nothing uncommitted.
func commitUncommitted(ctx context.Context, top, mirror, branch, head string) (string, error) {
	st, err := git(ctx, top, nil, "status", "--porcelain", "--untracked-files=all")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(st) == "" {
		return "", nil
	}
	idx, err := os.CreateTemp("", "cb-index-")
	if err != nil {
		return "", err
	}
	_ = idx.Close()
	_ = os.Remove(idx.Name())
	defer func() { _ = os.Remove(idx.Name()) }()
	env := []string{"GIT_DIR=" + mirror, "GIT_WORK_TREE=" + top, "GIT_INDEX_FILE=" + idx.Name()}
	// The user's info/exclude and core.excludesFile still apply through
	// the work tree's .gitignore files; the mirror has no excludes of its own.
	if _, err := git(ctx, top, env, "read-tree", head); err != nil {
		return "", err
	}
	if _, err := git(ctx, top, env, "add", "--all", "--", "."); err != nil {
		return "", fmt.Errorf("stage the uncommitted changes: %w", err)
	}
	tree, err := git(ctx, top, env, "write-tree")
	if err != nil {
		return "", err
	}
	commit, err := git(ctx, top, append(env, "GIT_AUTHOR_NAME=claude-bottle", "GIT_AUTHOR_EMAIL=claude-bottle@localhost",
		"GIT_COMMITTER_NAME=claude-bottle", "GIT_COMMITTER_EMAIL=claude-bottle@localhost"),
		"commit-tree", strings.TrimSpace(tree), "-p", head, "-m", "Uncommitted changes of "+branch+" (claude-bottle run --include-uncommitted)")
	if err != nil {
		return "", err
	}
	wip := branch + "-uncommitted"
	if _, err := git(ctx, mirror, nil, "update-ref", "refs/heads/"+wip, strings.TrimSpace(commit)); err != nil {
		return "", err
	}
	return wip, nil
}

// resetMirror writes the mirror's configuration and removes what could make
// the host's git run or read anything on the mirror's say: hooks, alternates
// (objects from elsewhere), grafts, a nested .git. git-gate can write the
// mirror's directory, so it is checked first: the mirror and the
// directories written to must be real directories, not symbolic links
// (which would point the host's writes at files of the user's), and the
// configuration is replaced, never written through an existing file.
func resetMirror(mirror string) error {
	for _, d := range []string{filepath.Dir(mirror), mirror, filepath.Join(mirror, "objects"), filepath.Join(mirror, "objects", "info"), filepath.Join(mirror, "info")} {
		st, err := os.Lstat(d)
		if errors.Is(err, os.ErrNotExist) && d == filepath.Join(mirror, "info") {
			continue
		}
		if err != nil {
			return fmt.Errorf("workspace mirror: %w", err)
		}
		if !st.IsDir() || st.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("workspace mirror: %s is not a directory (refusing to use a mirror whose layout was tampered with)", d)
		}
	}
	for _, p := range []string{"config", ".git", "hooks", "objects/info/alternates", "objects/info/http-alternates", "info/grafts", "shallow", "commondir", "gitdir"} {
		if err := os.RemoveAll(filepath.Join(mirror, p)); err != nil {
			return fmt.Errorf("reset the workspace mirror: %w", err)
		}
	}
	f, err := os.OpenFile(filepath.Join(mirror, "config"), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("reset the workspace mirror: %w", err)
	}
	if _, err := f.WriteString(mirrorConfig); err != nil {
		_ = f.Close()
		return fmt.Errorf("reset the workspace mirror: %w", err)
	}
	return f.Close()
}

// LoadRecord reads the record Create left in a state dir.
func LoadRecord(stateDir string) (*Record, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, RecordFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoWorkspace
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", RecordFile, err)
	}
	return &r, nil
}

// ErrNoWorkspace is returned for a bottle that was not started by run.
var ErrNoWorkspace = errors.New("this bottle has no workspace (it was not started by claude-bottle run)")

// branchRE is the branch names Pull accepts from the mirror: a conservative
// subset of what git allows, with no shell, terminal or path tricks.
var branchRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._+-]*(/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$`)

// maxBranch bounds a branch name (git allows far more; nobody needs it).
const maxBranch = 200

// CheckBranch reports why name is not a branch Pull will bring back.
func CheckBranch(name string) error {
	switch {
	case len(name) == 0 || len(name) > maxBranch:
		return fmt.Errorf("branch name of %d bytes: want 1 to %d", len(name), maxBranch)
	case !branchRE.MatchString(name):
		return fmt.Errorf("branch name %q: only letters, digits, '.', '_', '+', '-' and '/' between parts", name)
	case strings.Contains(name, ".."), strings.HasSuffix(name, ".lock"), strings.HasSuffix(name, "."),
		strings.Contains(name, ".lock/"), strings.Contains(name, "/."), name == "HEAD":
		return fmt.Errorf("branch name %q is not a valid git branch name", name)
	}
	return nil
}

// Branch is one branch the agent pushed.
type Branch struct {
	// Name is the branch in the mirror.
	Name string `json:"name"`
	// Ref is where it lands in the user's repository.
	Ref string `json:"ref"`
	// Commit is its tip.
	Commit string `json:"commit"`
	// New counts the commits not in the user's repository before.
	New int `json:"new_commits"`
}

// PullResult says what Pull did.
type PullResult struct {
	Fetched []Branch `json:"fetched"`
	// Refused lists branch names refused as hostile, quoted.
	Refused []string `json:"refused,omitempty"`
}

// pushed lists the branches of the mirror that are new or moved since
// Create, with their tips, and the names refused as hostile (quoted).
func pushed(ctx context.Context, stateDir string, rec *Record) (map[string]string, []string, error) {
	mirror := MirrorPath(stateDir)
	if err := resetMirror(mirror); err != nil {
		return nil, nil, err
	}
	// ls-remote from the user's side: the mirror is only a transport peer.
	out, err := git(ctx, rec.Repo, nil, "-c", "protocol.file.allow=always", "ls-remote", "--heads", mirror)
	if err != nil {
		return nil, nil, fmt.Errorf("read the branches the agent pushed: %w", err)
	}
	var refused []string
	tips := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		sha, ref, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		name, ok := strings.CutPrefix(ref, "refs/heads/")
		if !ok || !isHex40(sha) || sha == strings.Repeat("0", 40) {
			refused = append(refused, fmt.Sprintf("%q", ref))
			continue
		}
		if err := CheckBranch(name); err != nil {
			refused = append(refused, fmt.Sprintf("%q", name))
			continue
		}
		if rec.Base[name] == sha {
			continue
		}
		tips[name] = sha
	}
	sort.Strings(refused)
	return tips, refused, nil
}

// Unpulled lists the branches the agent pushed that the user's repository
// does not have at the same commit under claude-bottle/<slug>/.
func Unpulled(ctx context.Context, stateDir, slug string, rec *Record) ([]string, error) {
	tips, _, err := pushed(ctx, stateDir, rec)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range sortedKeys(tips) {
		got, err := git(ctx, rec.Repo, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+BranchPrefix+slug+"/"+name)
		if err != nil || strings.TrimSpace(got) != tips[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// Pull fetches every branch the agent pushed (new, or moved from where
// Create left it) into rec.Repo as refs/heads/claude-bottle/<slug>/<branch>.
func Pull(ctx context.Context, stateDir, slug string, rec *Record) (*PullResult, error) {
	mirror := MirrorPath(stateDir)
	tips, refused, err := pushed(ctx, stateDir, rec)
	if err != nil {
		return nil, err
	}
	res := &PullResult{Refused: refused}
	var specs []string
	for _, name := range sortedKeys(tips) {
		specs = append(specs, "+refs/heads/"+name+":refs/heads/"+BranchPrefix+slug+"/"+name)
	}
	if len(specs) == 0 {
		return res, nil
	}
	args := []string{"-c", "protocol.file.allow=always", "-c", "fetch.fsckObjects=true", "-c", "transfer.fsckObjects=true",
		"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules", "--no-auto-gc", mirror}
	fetched := map[string]bool{}
	if _, err := git(ctx, rec.Repo, nil, append(args, specs...)...); err == nil {
		for name := range tips {
			fetched[name] = true
		}
	} else {
		// One bad ref must not hold back the others: fetch them one by one.
		for _, name := range sortedKeys(tips) {
			spec := "+refs/heads/" + name + ":refs/heads/" + BranchPrefix + slug + "/" + name
			if _, err := git(ctx, rec.Repo, nil, append(args, spec)...); err != nil {
				res.Refused = append(res.Refused, fmt.Sprintf("%q (fetch failed)", name))
				continue
			}
			fetched[name] = true
		}
	}
	for _, name := range sortedKeys(tips) {
		if !fetched[name] {
			continue
		}
		b := Branch{Name: name, Ref: BranchPrefix + slug + "/" + name, Commit: tips[name]}
		// Commits of the branch the user's repository had nowhere else.
		if n, err := git(ctx, rec.Repo, nil, "rev-list", "--count", tips[name], "--not", "--exclude=refs/heads/"+BranchPrefix+"*", "--all"); err == nil {
			_, _ = fmt.Sscanf(strings.TrimSpace(n), "%d", &b.New)
		}
		res.Fetched = append(res.Fetched, b)
	}
	return res, nil
}

func isHex40(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
