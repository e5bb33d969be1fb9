package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/supervise"
)

const superviseUsage = `Usage:
  claude-bottle supervise                          interactive: review, approve, edit or reject (on a terminal)
  claude-bottle supervise ls [--json]              list pending proposals of every bottle
  claude-bottle supervise approve ID [--notes T]   apply the proposal to its running bottle and answer the agent
  claude-bottle supervise reject ID --reason T     answer the agent with a refusal`

func runSupervise(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	layout, err := statedir.FromEnv(env)
	if err != nil {
		return err
	}
	sub := "ls"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	} else if len(args) == 0 && isTerminal(stdio.In) && isTerminal(stdio.Out) {
		return runSuperviseTUI(ctx, layout, stdio)
	}
	fs := newFlags("supervise "+sub, stdio)
	fs.Usage = func() { fmt.Fprintln(stdio.Err, superviseUsage) }
	switch sub {
	case "ls":
		asJSON := fs.Bool("json", false, "print JSON")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		op := &supervise.Operator{Layout: layout}
		ps, err := op.Pending()
		if err != nil {
			return err
		}
		if *asJSON {
			if ps == nil {
				ps = []supervise.Proposal{}
			}
			return writeJSON(stdio.Out, ps)
		}
		if len(ps) == 0 {
			fmt.Fprintln(stdio.Out, "no pending proposals")
			return nil
		}
		tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tBOTTLE\tKIND\tWOULD\tJUSTIFICATION")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Slug, p.Kind, would(p), oneLine(p.Justification, 60))
		}
		return tw.Flush()
	case "approve":
		notes := fs.String("notes", "", "notes for the agent")
		id, err := parseID(fs, args)
		if err != nil {
			return err
		}
		eng, err := docker.Connect(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = eng.Close() }()
		op := &supervise.Operator{Layout: layout, Applier: eng}
		entry, err := op.Approve(ctx, id, *notes)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdio.Out, "approved %s for %s: %s -> %s\n", id, entry.Slug, strings.Join(entry.Before, ","), strings.Join(entry.After, ","))
		return nil
	case "reject":
		reason := fs.String("reason", "", "why (the agent reads it)")
		id, err := parseID(fs, args)
		if err != nil {
			return err
		}
		if strings.TrimSpace(*reason) == "" {
			return &UsageError{Msg: "supervise reject: --reason is required (the agent reads it)"}
		}
		op := &supervise.Operator{Layout: layout}
		if err := op.Reject(id, *reason); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Out, "rejected %s\n", id)
		return nil
	}
	return &UsageError{Msg: fmt.Sprintf("supervise: unknown subcommand %q\n%s", sub, superviseUsage)}
}

// parseID parses a subcommand's flags and its proposal ID.
func parseID(fs *flag.FlagSet, args []string) (string, error) {
	id, err := parsePositional(fs, args)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", &UsageError{Msg: "supervise: give the proposal ID (claude-bottle supervise ls)"}
	}
	return id, nil
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

// isTerminal reports whether f is an interactive terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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
