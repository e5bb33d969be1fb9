package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

type cleanupOptions struct{ yes, asJSON bool }

func newCleanupCmd(a *app) *cobra.Command {
	var o cleanupOptions
	cmd := &cobra.Command{
		Use:   "cleanup [--yes] [--json]",
		Short: "find and remove leftovers of bottles that are not running",
		Long: `Finds containers, networks and state directories of bottles that are not
running (an interrupted up, a crashed engine) and removes them after asking
on a terminal, or with --yes. The search is engine-wide.`,
		Example: "  claude-bottle cleanup          # list, then ask\n  claude-bottle cleanup --json   # list only\n  claude-bottle cleanup -y",
		Args:    exactArgs(0, "takes no arguments"),
		RunE:    func(cmd *cobra.Command, _ []string) error { return runCleanup(cmd.Context(), a, o) },
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "remove without asking")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print what was found as JSON (nothing is removed without --yes)")
	return cmd
}

func runCleanup(ctx context.Context, a *app, opts cleanupOptions) error {
	stdio := a.stdio
	layout, eng, err := openEngine(ctx, a.env)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	o, err := eng.FindOrphans(ctx, layout)
	if err != nil {
		return err
	}
	switch {
	case opts.asJSON:
		if err := writeJSON(stdio.Out, o); err != nil {
			return err
		}
	case o.Empty():
		fmt.Fprintln(stdio.Out, "nothing to clean up")
		return nil
	default:
		fmt.Fprintf(stdio.Out, "leftovers of bottles that are not running (%s):\n", strings.Join(o.Slugs, ", "))
		for _, group := range []struct {
			what  string
			items []string
		}{{"container", o.Containers}, {"network", o.Networks}, {"state dir", o.StateDirs}, {"half-staged dir", o.Staging}} {
			for _, it := range group.items {
				fmt.Fprintf(stdio.Out, "  %-15s %s\n", group.what, it)
			}
		}
	}
	if o.Empty() {
		return nil
	}
	if !opts.yes {
		if !isTerminal(stdio.In) {
			return fmt.Errorf("cleanup: not removing without confirmation; run again with --yes")
		}
		fmt.Fprint(stdio.Out, "remove them? [y/N] ")
		line, _ := bufio.NewReader(stdio.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintln(stdio.Out, "nothing removed")
			return nil
		}
	}
	if err := eng.RemoveOrphans(ctx, layout, o); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "removed leftovers of %d bottle(s)\n", len(o.Slugs))
	return nil
}
