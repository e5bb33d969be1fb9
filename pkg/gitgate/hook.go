package gitgate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// ZeroID is the object name git uses for "no object" (creation, deletion).
const ZeroID = "0000000000000000000000000000000000000000"

// maxBlob bounds the size of a file the gate scans; a larger file rejects
// the push rather than pass unscanned.
const maxBlob = 16 << 20

// Update is one line of pre-receive input.
type Update struct {
	Old, New, Ref string
}

// ParseUpdates reads pre-receive's stdin: "<old> <new> <ref>" per line.
func ParseUpdates(r io.Reader) ([]Update, error) {
	var out []Update
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed update line %q", sc.Text())
		}
		out = append(out, Update{Old: f[0], New: f[1], Ref: f[2]})
	}
	return out, sc.Err()
}

// NewCommits lists the commits an update brings that the gate has not seen:
// "new --not --all" for a new ref, "old..new" otherwise, none for a deletion.
func NewCommits(ctx context.Context, dir string, u Update) ([]string, error) {
	var args []string
	switch {
	case u.New == ZeroID:
		return nil, nil
	case u.Old == ZeroID:
		args = []string{"rev-list", u.New, "--not", "--all"}
	default:
		args = []string{"rev-list", u.Old + ".." + u.New}
	}
	out, err := git(ctx, dir, nil, nil, args...)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Rejection is a push refused by the scan or by policy.
type Rejection struct{ Msg string }

func (r *Rejection) Error() string { return r.Msg }

// ScanUpdate scans everything an update brings: its ref name, and for each
// new commit the message, author and committer, and every added or changed
// file. The first finding rejects the push.
func ScanUpdate(ctx context.Context, dir string, s *dlp.Scanner, u Update) error {
	reject := func(f dlp.Finding, where string) error {
		return &Rejection{Msg: fmt.Sprintf("git-gate: gitleaks rejected push to %s: %s in %s", u.Ref, ruleOf(f), where)}
	}
	if fs := s.Scan("ref name", u.Ref); len(fs) > 0 {
		// The ref itself carries the secret: do not repeat it.
		return &Rejection{Msg: fmt.Sprintf("git-gate: gitleaks rejected push to a ref: %s in the ref name", ruleOf(fs[0]))}
	}
	commits, err := NewCommits(ctx, dir, u)
	if err != nil {
		return err
	}
	for _, c := range commits {
		raw, err := git(ctx, dir, nil, nil, "cat-file", "commit", c)
		if err != nil {
			return err
		}
		header, msg, _ := strings.Cut(string(raw), "\n\n")
		var people strings.Builder
		for _, line := range strings.Split(header, "\n") {
			if strings.HasPrefix(line, "author ") || strings.HasPrefix(line, "committer ") || strings.HasPrefix(line, "tagger ") {
				people.WriteString(line + "\n")
			}
		}
		short := c[:12]
		if fs := s.Scan("commit message", msg); len(fs) > 0 {
			return reject(fs[0], short+": the commit message")
		}
		if fs := s.Scan("author", people.String()); len(fs) > 0 {
			return reject(fs[0], short+": the author or committer")
		}
		files, err := changedFiles(ctx, dir, c)
		if err != nil {
			return err
		}
		blobs, err := readBlobs(ctx, dir, files)
		if err != nil {
			return err
		}
		for _, f := range files {
			content, ok := blobs[f.blob]
			if !ok {
				return &Rejection{Msg: fmt.Sprintf("git-gate: rejected push to %s: %s:%s is larger than %d MiB and cannot be scanned", u.Ref, short, f.path, maxBlob>>20)}
			}
			if fs := s.ScanFile(f.path, content); len(fs) > 0 {
				return reject(fs[0], short+":"+f.path)
			}
		}
	}
	return nil
}

// ruleOf names a finding's rule the way the rejection reports it.
func ruleOf(f dlp.Finding) string {
	r := f.Rule
	if f.Known != "" {
		r += " " + f.Known
	}
	if f.Encoding != "" && f.Encoding != dlp.EncRaw {
		r += " (" + f.Encoding + ")"
	}
	return r
}

type changed struct {
	blob, path string
}

// changedFiles lists files added or modified by commit c relative to its
// first parent (all files for a root commit).
func changedFiles(ctx context.Context, dir, c string) ([]changed, error) {
	out, err := git(ctx, dir, nil, nil, "diff-tree", "-r", "-z", "--no-commit-id", "--root", "-m", "--first-parent", "--diff-filter=ACMRT", c)
	if err != nil {
		return nil, err
	}
	var files []changed
	parts := strings.Split(string(out), "\x00")
	for i := 0; i < len(parts); i++ {
		meta := parts[i]
		if !strings.HasPrefix(meta, ":") {
			continue
		}
		f := strings.Fields(meta) // :oldmode newmode oldsha newsha status
		if len(f) < 5 || i+1 >= len(parts) {
			return nil, fmt.Errorf("unexpected diff-tree output %q", meta)
		}
		path := parts[i+1]
		i++
		if st := f[4]; strings.HasPrefix(st, "R") || strings.HasPrefix(st, "C") {
			if i+1 < len(parts) {
				path = parts[i+1]
				i++
			}
		}
		if f[1] == "160000" { // submodule: no blob here
			continue
		}
		files = append(files, changed{blob: f[3], path: path})
	}
	return files, nil
}

// readBlobs reads the blobs of files with one cat-file --batch, leaving out
// those over maxBlob.
func readBlobs(ctx context.Context, dir string, files []changed) (map[string]string, error) {
	out := map[string]string{}
	if len(files) == 0 {
		return out, nil
	}
	var in bytes.Buffer
	for _, f := range files {
		in.WriteString(f.blob + "\n")
	}
	raw, err := git(ctx, dir, nil, in.Bytes(), "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	for range files {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("cat-file: %w", err)
		}
		f := strings.Fields(line) // <sha> <type> <size> | <sha> missing
		if len(f) != 3 {
			return nil, fmt.Errorf("cat-file: %q", strings.TrimSpace(line))
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("cat-file size %q: %w", f[2], err)
		}
		buf := make([]byte, size+1) // content + trailing newline
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("cat-file: %w", err)
		}
		if size <= maxBlob {
			out[f[0]] = string(buf[:size])
		}
	}
	return out, nil
}

// CheckPolicy refuses deletions and non-fast-forward updates the repo's
// settings do not allow.
func (g *Gate) CheckPolicy(ctx context.Context, dir, repo string, u Update) error {
	r := g.Repos[repo]
	if u.New == ZeroID {
		if !r.AllowDelete {
			return &Rejection{Msg: fmt.Sprintf("git-gate: deleting %s is not allowed for %s (allow_delete in the manifest)", u.Ref, repo)}
		}
		return nil
	}
	if u.Old == ZeroID || !strings.HasPrefix(u.Ref, "refs/heads/") {
		return nil
	}
	if _, err := git(ctx, dir, nil, nil, "merge-base", "--is-ancestor", u.Old, u.New); err != nil && !r.AllowForcePush {
		return &Rejection{Msg: fmt.Sprintf("git-gate: %s is not a fast-forward; force pushes are not allowed for %s (allow_force_push in the manifest)", u.Ref, repo)}
	}
	return nil
}

// PreReceive is the hook: policy and scan for every update first (nothing
// leaves before all of them pass), then each ref is forwarded over SSH.
// Messages go to stderr, which the agent's git shows as "remote: …".
func (g *Gate) PreReceive(ctx context.Context, repo, dir string, s *dlp.Scanner, stdin io.Reader, stderr io.Writer) error {
	r, ok := g.Repos[repo]
	if !ok {
		return fmt.Errorf("git-gate: repository %q is not declared", repo)
	}
	updates, err := ParseUpdates(stdin)
	if err != nil {
		return err
	}
	for _, u := range updates {
		if err := g.CheckPolicy(ctx, dir, repo, u); err != nil {
			return err
		}
		if err := ScanUpdate(ctx, dir, s, u); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, g.RemoteTimeout)
	defer cancel()
	for _, u := range updates {
		spec := u.New + ":" + u.Ref
		switch {
		case u.New == ZeroID:
			spec = ":" + u.Ref
		case r.AllowForcePush:
			spec = "+" + spec
		}
		if _, err := git(ctx, dir, g.gitEnv(r), nil, "push", "--quiet", "--porcelain", r.URL, spec); err != nil {
			return &Rejection{Msg: fmt.Sprintf("git-gate: forwarding %s to %s failed, push rejected: %v", u.Ref, r.URL, err)}
		}
		fmt.Fprintf(stderr, "git-gate: scanned and forwarded %s\n", u.Ref)
	}
	return nil
}

// IsRejection reports whether err is a policy or scan rejection.
func IsRejection(err error) bool {
	var r *Rejection
	return errors.As(err, &r)
}
