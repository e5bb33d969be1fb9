package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/supervise"
)

func newSuperviseCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "supervise [ls|approve|reject]",
		Short: "list, approve or reject what blocked agents ask for",
		Long: `Without a subcommand, on a terminal: the interactive review (approve, edit,
reject). Off a terminal: the same as "supervise ls".`,
		Example: `  claude-bottle supervise
  claude-bottle supervise ls --json
  claude-bottle supervise approve 20260101T120000-ab12cd --notes "ok for this task"
  claude-bottle supervise reject 20260101T120000-ab12cd --reason "use the mirror"`,
		Args: unknownSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			layout, err := statedir.FromEnv(a.env)
			if err != nil {
				return err
			}
			if !asJSON && interactive(a.stdio, a.env) {
				return runSuperviseTUI(cmd.Context(), layout, a.stdio)
			}
			return superviseLs(a, layout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "list the pending proposals as JSON (as supervise ls --json)")
	cmd.AddCommand(newSuperviseLsCmd(a), newSuperviseApproveCmd(a), newSuperviseRejectCmd(a))
	return cmd
}

func newSuperviseLsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls [--json]",
		Aliases: []string{"list"},
		Short:   "list pending proposals of every bottle",
		Example: "  claude-bottle supervise ls\n  claude-bottle supervise ls --json | jq -r '.[].id'",
		Args:    exactArgs(0, "takes no arguments"),
		RunE: func(*cobra.Command, []string) error {
			layout, err := statedir.FromEnv(a.env)
			if err != nil {
				return err
			}
			return superviseLs(a, layout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func superviseLs(a *app, layout statedir.Layout, asJSON bool) error {
	op := &supervise.Operator{Layout: layout}
	ps, err := op.Pending()
	if err != nil {
		return err
	}
	if asJSON {
		if ps == nil {
			ps = []supervise.Proposal{}
		}
		return writeJSON(a.stdio.Out, ps)
	}
	if len(ps) == 0 {
		fmt.Fprintln(a.stdio.Out, "no pending proposals")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tBOTTLE\tKIND\tWOULD\tJUSTIFICATION")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Slug, p.Kind, would(p), oneLine(p.Justification, 60))
	}
	return tw.Flush()
}

// idArg is the Args of a subcommand that takes one proposal ID.
func idArg(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("supervise: give the proposal ID (claude-bottle supervise ls)")
	}
	return nil
}

func newSuperviseApproveCmd(a *app) *cobra.Command {
	var notes string
	cmd := &cobra.Command{
		Use:     "approve ID [--notes T]",
		Short:   "apply the proposal to its running bottle and answer the agent",
		Example: "  claude-bottle supervise approve 20260101T120000-ab12cd --notes \"ok for this task\"",
		Args:    idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, id := cmd.Context(), args[0]
			layout, err := statedir.FromEnv(a.env)
			if err != nil {
				return err
			}
			eng, err := docker.Connect(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			op := &supervise.Operator{Layout: layout, Applier: eng}
			entry, err := op.Approve(ctx, id, notes)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdio.Out, "approved %s for %s: %s -> %s\n", id, entry.Slug, strings.Join(entry.Before, ","), strings.Join(entry.After, ","))
			return nil
		},
	}
	cmd.Flags().StringVarP(&notes, "notes", "n", "", "notes for the agent")
	return cmd
}

func newSuperviseRejectCmd(a *app) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:     "reject ID --reason T",
		Short:   "answer the agent with a refusal",
		Example: "  claude-bottle supervise reject 20260101T120000-ab12cd --reason \"use the package mirror\"",
		Args:    idArg,
		RunE: func(_ *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("supervise reject: --reason is required (the agent reads it)")
			}
			layout, err := statedir.FromEnv(a.env)
			if err != nil {
				return err
			}
			op := &supervise.Operator{Layout: layout}
			if err := op.Reject(args[0], reason); err != nil {
				return err
			}
			fmt.Fprintf(a.stdio.Out, "rejected %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVarP(&reason, "reason", "r", "", "why (the agent reads it)")
	return cmd
}

func would(p supervise.Proposal) string {
	switch p.Kind {
	case supervise.KindPipelock:
		return "allow host " + p.Host
	case supervise.KindEgress:
		if len(p.Paths) > 0 {
			return "route " + p.Host + " " + strings.Join(p.Paths, ",")
		}
		return "route " + p.Host
	case supervise.KindCapability:
		return "rebuild the agent image"
	}
	return p.Kind
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func runSuperviseTUI(ctx context.Context, layout statedir.Layout, stdio Stdio) error {
	op := &supervise.Operator{Layout: layout}
	eng, err := docker.Connect(ctx)
	if err != nil {
		op.Applier = unavailable{err}
	} else {
		defer func() { _ = eng.Close() }()
		op.Applier = eng
	}
	_, err = tea.NewProgram(supervise.NewModel(ctx, op), tea.WithContext(ctx), tea.WithInput(stdio.In), tea.WithOutput(stdio.Out)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// unavailable is the applier when no engine answers: listing and rejecting
// still work, approving says why it cannot.
type unavailable struct{ err error }

func (u unavailable) Running(context.Context, string, string) error { return u.err }
func (u unavailable) RestartPipelock(context.Context, string) error { return u.err }
func (u unavailable) ReloadEgress(context.Context, string) error    { return u.err }
func (u unavailable) RebuildAgent(context.Context, string, string) (string, string, error) {
	return "", "", u.err
}
