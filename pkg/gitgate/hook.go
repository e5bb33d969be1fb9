package gitgate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// ZeroID is the object name git uses for "no object" (creation, deletion).
const ZeroID = "0000000000000000000000000000000000000000"

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

// Rejection is a push refused by the scan or by policy.
type Rejection struct{ Msg string }

func (r *Rejection) Error() string { return r.Msg }

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
	if _, err := git(ctx, dir, gateEnv(), nil, "merge-base", "--is-ancestor", u.Old, u.New); err != nil && !r.AllowForcePush {
		return &Rejection{Msg: fmt.Sprintf("git-gate: %s is not a fast-forward; force pushes are not allowed for %s (allow_force_push in the manifest)", u.Ref, repo)}
	}
	return nil
}

// IsRejection reports whether err is a policy or scan rejection.
func IsRejection(err error) bool {
	var r *Rejection
	return errors.As(err, &r)
}
