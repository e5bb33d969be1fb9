package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"
)

func runCleanup(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	fs := newFlags("cleanup", stdio)
	yes := fs.Bool("yes", false, "remove without asking")
	asJSON := fs.Bool("json", false, "print what was found as JSON (nothing is removed without --yes)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	layout, eng, err := openEngine(ctx, env)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	o, err := eng.FindOrphans(ctx, layout)
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
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
	if !*yes {
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
