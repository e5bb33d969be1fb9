package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/claudecode"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/workspace"
)

// PullOptions are the inputs of Pull.
type PullOptions struct {
	Slug string
}

// Pull brings the branches the agent of a bottle started by run pushed into
// the user's repository as claude-bottle/<slug>/<branch>.
func Pull(ctx context.Context, layout statedir.Layout, opts PullOptions) (*workspace.Record, *workspace.PullResult, error) {
	if err := contract.ValidateSlug(opts.Slug); err != nil {
		return nil, nil, &UsageError{Msg: err.Error()}
	}
	dir := layout.StateDir(opts.Slug)
	rec, err := workspace.LoadRecord(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("bottle %s: %w", opts.Slug, err)
	}
	res, err := workspace.Pull(ctx, dir, opts.Slug, rec)
	return rec, res, err
}

func newPullCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pull SLUG [--json]",
		Short: "bring the branches a bottle's agent pushed into your repository",
		Long: `Fetches the branches the agent of a bottle started by run pushed (after
git-gate's scan) into your repository as claude-bottle/<slug>/<branch>, and
nothing else: your hooks are off for it, branch names are checked, no other
ref changes. run does this itself when Claude Code exits; pull is for a
bottle that is still up.`,
		Example: "  claude-bottle pull run-abcde\n  git log claude-bottle/run-abcde/fix-test",
		Args:    exactArgs(1, "give the bottle's slug (claude-bottle ls)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := slugArg(cmd, args[0]); err != nil {
				return err
			}
			layout, err := statedir.FromEnv(a.env)
			if err != nil {
				return err
			}
			rec, res, err := Pull(cmd.Context(), layout, PullOptions{Slug: args[0]})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdio.Out, res)
			}
			printPulled(a.stdio.Out, rec.Repo, res)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: {fetched: [{name, ref, commit, new_commits}], refused}")
	return cmd
}

// checkWorkSaved refuses to take down a bottle started by run while its
// agent has commits it did not push, or pushed branches the user's
// repository has not pulled: both would be lost with the bottle.
func checkWorkSaved(ctx context.Context, eng *lifecycle.Backend, layout statedir.Layout, slug string) error {
	dir := layout.StateDir(slug)
	rec, err := workspace.LoadRecord(dir)
	if errors.Is(err, workspace.ErrNoWorkspace) {
		return nil
	}
	if err != nil {
		return err
	}
	var lost []string
	if info, err := eng.InspectContainer(ctx, contract.AgentContainer(slug)); err == nil && info.Running {
		if n, err := unpushedCommits(ctx, eng, slug, claudecode.DefaultUser); err == nil && n > 0 {
			lost = append(lost, fmt.Sprintf("%s in %s not pushed", plural(n, "commit"), claudecode.Workspace))
		}
	}
	if un, err := workspace.Unpulled(ctx, dir, slug, rec); err == nil && len(un) > 0 {
		lost = append(lost, fmt.Sprintf("%s pushed but not pulled (claude-bottle pull %s)", plural(len(un), "branch"), slug))
	}
	if len(lost) > 0 {
		return fmt.Errorf("bottle %s holds work that would be lost: %s; --force discards it", slug, strings.Join(lost, ", "))
	}
	return nil
}
