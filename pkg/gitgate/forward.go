package gitgate

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
)

// forward sends the scanned updates upstream in one atomic push. It first
// reads the upstream's refs over the same transport and checks that every
// object the push will send — `rev-list --objects <new…> --not <upstream
// refs we hold>`, which is what git push packs — was scanned; any that was
// not (the upstream lost a ref the mirror still has) is scanned now, before
// anything is sent. A force push carries a lease on the value just read, so
// a ref moved in between is not overwritten blind.
func (g *Gate) forward(ctx context.Context, r daemoncfg.Repo, dir string, env []string, updates []Update, sc *ObjectScan, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, g.RemoteTimeout)
	defer cancel()
	// The commands that talk to the upstream see the quarantined objects
	// but not GIT_QUARANTINE_PATH: over the file transport the upstream's
	// receive-pack would inherit it and refuse every ref update.
	var renv []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GIT_QUARANTINE_PATH=") {
			renv = append(renv, kv)
		}
	}
	renv = append(renv, "GIT_SSH_COMMAND="+g.SSHCommand(r))
	fail := func(err error) error {
		return &Rejection{Msg: fmt.Sprintf("git-gate: forwarding %s to %s failed, push rejected: %v", sc.Refs, r.URL, err)}
	}
	out, err := git(ctx, dir, renv, nil, "ls-remote", r.URL)
	if err != nil {
		return fail(err)
	}
	upstream := map[string]string{}
	var advertised []string
	for _, line := range strings.Split(string(out), "\n") {
		id, ref, ok := strings.Cut(line, "\t")
		if !ok || !isHexID(id) {
			continue
		}
		upstream[ref] = id
		advertised = append(advertised, id)
	}
	objs, err := batchCheck(ctx, dir, env, advertised)
	if err != nil {
		return fail(err)
	}
	var have, tips []string
	for _, o := range objs {
		if o.typ != "missing" {
			have = append(have, o.id)
		}
	}
	for _, u := range updates {
		if u.New != ZeroID {
			tips = append(tips, u.New)
		}
	}
	need, err := revList(ctx, dir, env, tips, have)
	if err != nil {
		return fail(err)
	}
	var extra []string
	for _, id := range need {
		if !sc.Scanned(id) {
			extra = append(extra, id)
		}
	}
	if len(extra) > 0 {
		if err := sc.Scan(ctx, extra); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "git-gate: scanned %d more objects the upstream lacks\n", len(extra))
	}
	args := []string{"push", "--quiet", "--porcelain", "--atomic", "--no-verify", "--no-signed"}
	var specs []string
	for _, u := range updates {
		spec := u.New + ":" + u.Ref
		switch {
		case u.New == ZeroID:
			spec = ":" + u.Ref
		case r.AllowForcePush:
			// The lease alone lets a non-fast-forward through (a "+" would
			// override it), and only while the ref is still what was read.
			args = append(args, "--force-with-lease="+u.Ref+":"+upstream[u.Ref])
		}
		specs = append(specs, spec)
	}
	args = append(append(args, r.URL), specs...)
	if _, err := git(ctx, dir, renv, nil, args...); err != nil {
		return fail(err)
	}
	for _, u := range updates {
		fmt.Fprintf(stderr, "git-gate: scanned and forwarded %s\n", u.Ref)
	}
	return nil
}
