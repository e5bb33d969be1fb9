package gitgate

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/dlp"
)

// PreReceive is the hook receive-pack runs with the pushed objects in
// quarantine. Nothing leaves before every check has passed:
//
//  1. push options and push certificates are refused;
//  2. every ref name is scanned (alone and run together), then checked
//     against the ref policy (CheckRefName, deletions and force pushes per
//     repo, CheckTarget);
//  3. the scan set is every object reachable from the new ref values and
//     not from the mirror's refs (`rev-list --objects <new…> --not
//     <mirror refs>`); the mirror holds only what came from the upstream or
//     passed this hook, so everything else the push could carry is in the
//     set; every object in it is scanned (ObjectScan);
//  4. forward: the upstream's refs are read, the objects the forward will
//     send (`rev-list --objects <new…> --not <upstream refs>`) are checked
//     to be scanned (any that are not, e.g. when the upstream lost a ref
//     the mirror still has, are scanned before anything is sent), and the
//     new ids are pushed atomically.
//
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
	if len(updates) == 0 {
		return nil
	}
	if n := os.Getenv("GIT_PUSH_OPTION_COUNT"); n != "" && n != "0" {
		return &Rejection{Msg: "git-gate: rejected push: push options (-o/--push-option) are not forwarded; push without them"}
	}
	if os.Getenv("GIT_PUSH_CERT") != "" {
		return &Rejection{Msg: "git-gate: rejected push: signed pushes (--signed) are not forwarded; push without --signed"}
	}
	if err := scanRefNames(s, updates); err != nil {
		return err
	}
	env := gateEnv()
	var tips, names []string
	for _, u := range updates {
		if err := CheckRefName(u.Ref); err != nil {
			return err
		}
		if err := g.CheckPolicy(ctx, dir, repo, u); err != nil {
			return err
		}
		names = append(names, u.Ref)
		if u.New == ZeroID {
			continue
		}
		if err := CheckTarget(ctx, dir, env, u); err != nil {
			return err
		}
		tips = append(tips, u.New)
	}
	start := time.Now()
	have, err := localRefTips(ctx, dir, env)
	if err != nil {
		return err
	}
	ids, err := revList(ctx, dir, env, tips, have)
	if err != nil {
		return err
	}
	sc := &ObjectScan{Dir: dir, Env: env, Scanner: s, Limits: RepoLimits(r), Refs: refsLabel(names)}
	if err := sc.Scan(ctx, ids); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "git-gate: scanned %d new objects in %.1fs: clean\n", sc.Count(), time.Since(start).Seconds())
	return g.forward(ctx, r, dir, env, updates, sc, stderr)
}

// RepoLimits are the limits configured for r, defaults filled.
func RepoLimits(r daemoncfg.Repo) Limits {
	return Limits{MaxObject: int64(r.MaxObjectMiB) << 20, MaxPush: int64(r.MaxPushMiB) << 20}.WithDefaults()
}

// scanRefNames scans the pushed ref names, each alone and all run together
// (a secret split over several names). A finding does not repeat the name.
func scanRefNames(s *dlp.Scanner, updates []Update) error {
	var b, joined strings.Builder
	for _, u := range updates {
		b.WriteString(u.Ref + "\n")
		rest := strings.TrimPrefix(strings.TrimPrefix(u.Ref, "refs/heads/"), "refs/tags/")
		joined.WriteString(rest)
	}
	b.WriteString(joined.String())
	if fs := s.Scan("ref name", b.String()); len(fs) > 0 {
		return &Rejection{Msg: fmt.Sprintf("git-gate: gitleaks rejected push to a ref: %s in the ref name; nothing was sent", ruleOf(fs[0]))}
	}
	return nil
}

// refsLabel names the refs of a push in messages.
func refsLabel(refs []string) string {
	if len(refs) > 3 {
		return fmt.Sprintf("%s and %d more refs", strings.Join(refs[:3], ", "), len(refs)-3)
	}
	return strings.Join(refs, ", ")
}

// localRefTips lists the ids the mirror's refs point at.
func localRefTips(ctx context.Context, dir string, env []string) ([]string, error) {
	out, err := git(ctx, dir, env, nil, "for-each-ref", "--format=%(objectname)")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}
