package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/operator"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

func newSuperviseCmd(a *app) *cobra.Command {
	var asJSON bool
	var tui tuiOptions
	cmd := &cobra.Command{
		Use:   "supervise [ls|show|approve|reject]",
		Short: "list, approve or reject what blocked agents ask for",
		Long: `Without a subcommand, on a terminal: the interactive review (approve, edit,
reject). It refreshes by itself, rings the terminal bell when a new proposal
arrives, and with --notify-cmd runs a command for each new one: the command
line is split on spaces and run without a shell; the proposal is on its stdin
as JSON and in CLAUDE_BOTTLE_PROPOSAL_* variables (escaped). Off a terminal:
the same as "supervise ls".`,
		Example: `  claude-bottle supervise
  claude-bottle supervise --notify-cmd "notify-send claude-bottle"
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
				return runSuperviseTUI(cmd.Context(), layout, a.stdio, tui)
			}
			return superviseLs(a, layout, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "list the pending proposals as JSON (as supervise ls --json)")
	cmd.Flags().StringVar(&tui.notifyCmd, "notify-cmd", "", "command run for each new proposal (no shell; proposal as JSON on stdin and CLAUDE_BOTTLE_PROPOSAL_* variables)")
	cmd.Flags().DurationVar(&tui.refresh, "refresh", 2*time.Second, "how often the interactive view reloads the proposals")
	cmd.Flags().BoolVar(&tui.noBell, "no-bell", false, "do not ring the terminal bell on a new proposal")
	cmd.AddCommand(newSuperviseLsCmd(a), newSuperviseShowCmd(a), newSuperviseApproveCmd(a), newSuperviseRejectCmd(a))
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
	op := &operator.Operator{Layout: layout}
	ps, err := op.Pending()
	if err != nil {
		return err
	}
	if asJSON {
		if ps == nil {
			ps = []approvals.Proposal{}
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termtext.Escape(p.ID), termtext.Escape(p.Slug), termtext.Escape(p.Kind),
			strings.TrimPrefix(operator.Would(p), "would "), oneLine(termtext.Escape(p.Justification), 60))
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

type approveOptions struct {
	notes     string
	yes       bool
	widenAuth bool
	asJSON    bool
}

func newSuperviseApproveCmd(a *app) *cobra.Command {
	var o approveOptions
	cmd := &cobra.Command{
		Use:   "approve ID [--notes T] [--yes] [--widen-auth]",
		Short: "apply the proposal to its running bottle and answer the agent",
		Long: `Applies the proposal and answers the agent. A pipelock-block or egress-block
makes the host reachable (egress route and pipelock entry together).
Extending a route that carries a credential to more paths is refused unless
--widen-auth says so. A capability-block first prints the full Dockerfile
the rebuild runs and asks; off a terminal it needs --yes.`,
		Example: `  claude-bottle supervise approve 20260101T120000-ab12cd --notes "ok for this task"
  claude-bottle supervise approve 20260101T120000-ab12cd --yes --json   # a capability rebuild, unattended`,
		Args: idArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return superviseApprove(cmd.Context(), a, args[0], o)
		},
	}
	cmd.Flags().StringVarP(&o.notes, "notes", "n", "", "notes for the agent")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "approve a capability rebuild without asking (the Dockerfile is still printed)")
	cmd.Flags().BoolVar(&o.widenAuth, "widen-auth", false, "allow sending a route's credential to more paths than it has")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the audit entry as JSON")
	return cmd
}

func superviseApprove(ctx context.Context, a *app, id string, o approveOptions) error {
	layout, err := statedir.FromEnv(a.env)
	if err != nil {
		return err
	}
	op := &operator.Operator{Layout: layout}
	p, err := op.Find(id)
	if err != nil {
		return err
	}
	if p.Kind == approvals.KindCapability {
		// The operator sees exactly what will be built before it is.
		w := a.stdio.Out
		if o.asJSON {
			w = a.stdio.Err
		}
		fmt.Fprintf(w, "approving %s rebuilds the agent of %s from this Dockerfile:\n", termtext.Escape(p.ID), termtext.Escape(p.Slug))
		for _, l := range strings.Split(operator.RebasedForDisplay(p), "\n") {
			fmt.Fprintf(w, "  | %s\n", l)
		}
		fmt.Fprintf(w, "justification: %s\n", termtext.Escape(p.Justification))
		if !o.yes {
			if !isTerminal(a.stdio.In) {
				return fmt.Errorf("supervise approve: a capability rebuild needs confirmation; run again with --yes after reading the Dockerfile")
			}
			fmt.Fprint(w, "build it and replace the running agent? [y/N] ")
			line, _ := bufio.NewReader(a.stdio.In).ReadString('\n')
			if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
				fmt.Fprintln(w, "not approved")
				return nil
			}
		}
	}
	eng, err := lifecycle.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	op.Applier = eng
	entry, err := op.ApproveWith(ctx, id, operator.ApproveOptions{Notes: o.notes, WidenAuth: o.widenAuth})
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(a.stdio.Out, entry)
	}
	fmt.Fprintf(a.stdio.Out, "approved %s for %s: %s\n", termtext.Escape(id), entry.Slug, operator.Would(p))
	if p.Kind == approvals.KindCapability {
		fmt.Fprintf(a.stdio.Out, "agent image: %s -> %s\n", strings.Join(entry.Before, ","), strings.Join(entry.After, ","))
		return nil
	}
	printChange(a.stdio.Out, entry)
	return nil
}

func newSuperviseShowCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID [--json]",
		Short: "print one pending proposal in full (escaped), with what approving it does",
		Example: `  claude-bottle supervise show 20260101T120000-ab12cd
  claude-bottle supervise show 20260101T120000-ab12cd --json | jq -r .dockerfile`,
		Args: idArg,
		RunE: func(_ *cobra.Command, args []string) error {
			layout, err := statedir.FromEnv(a.env)
			if err != nil {
				return err
			}
			p, err := (&operator.Operator{Layout: layout}).Find(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdio.Out, p)
			}
			w := a.stdio.Out
			fmt.Fprintf(w, "id:            %s\nbottle:        %s\ntool:          %s\nasked at:      %s\n", termtext.Escape(p.ID), termtext.Escape(p.Slug), termtext.Escape(p.Kind), p.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
			if p.FailedURL != "" {
				fmt.Fprintf(w, "failed url:    %s\n", termtext.Escape(p.FailedURL))
			}
			fmt.Fprintf(w, "→ %s\njustification: %s\n", operator.Would(p), termtext.Escape(p.Justification))
			if p.Kind == approvals.KindCapability {
				fmt.Fprintln(w, "Dockerfile approving it builds:")
				for _, l := range strings.Split(operator.RebasedForDisplay(p), "\n") {
					fmt.Fprintf(w, "  | %s\n", l)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the proposal as JSON (fields as the agent sent them, JSON-escaped)")
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
			op := &operator.Operator{Layout: layout}
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

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}

type tuiOptions struct {
	notifyCmd string
	refresh   time.Duration
	noBell    bool
}

func runSuperviseTUI(ctx context.Context, layout statedir.Layout, stdio Stdio, o tuiOptions) error {
	op := &operator.Operator{Layout: layout}
	eng, err := lifecycle.Connect(ctx)
	if err != nil {
		op.Applier = unavailable{err}
	} else {
		defer func() { _ = eng.Close() }()
		op.Applier = eng
	}
	opts := operator.TUIOptions{Refresh: o.refresh}
	if !o.noBell {
		opts.Bell = stdio.Out
	}
	if argv := strings.Fields(o.notifyCmd); len(argv) > 0 {
		opts.Notify = operator.NotifyCommand(ctx, argv, nil)
	}
	_, err = tea.NewProgram(operator.NewModelWith(ctx, op, opts), tea.WithContext(ctx), tea.WithInput(stdio.In), tea.WithOutput(stdio.Out)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// unavailable is the applier when no engine answers: listing and rejecting
// still work, approving says why it cannot.
type unavailable struct{ err error }

func (u unavailable) Running(context.Context, string, string) error        { return u.err }
func (u unavailable) ReloadPipelock(context.Context, string, string) error { return u.err }
func (u unavailable) ReloadEgress(context.Context, string) error           { return u.err }
func (u unavailable) RebuildAgent(context.Context, string, string) (string, string, error) {
	return "", "", u.err
}
