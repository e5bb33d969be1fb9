package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/supervise"
)

func newAllowCmd(a *app) *cobra.Command {
	var notes string
	cmd := &cobra.Command{
		Use:   "allow SLUG [HOST...] [--notes T]",
		Short: "add hosts to a running bottle's pipelock allowlist, or list it",
		Long: `With hosts: add them to the running bottle's pipelock allowlist and restart
pipelock. Without: print the current allowlist, one host per line.`,
		Example: `  claude-bottle allow default-abcde
  claude-bottle allow default-abcde registry.npmjs.org --notes "npm install"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("allow: give the bottle's slug (claude-bottle ls)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAllow(cmd.Context(), a, args[0], args[1:], notes)
		},
	}
	cmd.Flags().StringVarP(&notes, "notes", "n", "", "note for the audit log")
	return cmd
}

func runAllow(ctx context.Context, a *app, slug string, hosts []string, notes string) error {
	layout, err := statedir.FromEnv(a.env)
	if err != nil {
		return err
	}
	op := &supervise.Operator{Layout: layout}
	if len(hosts) == 0 {
		list, err := op.Allowlist(slug)
		if err != nil {
			return err
		}
		for _, h := range list {
			fmt.Fprintln(a.stdio.Out, h)
		}
		return nil
	}
	eng, err := docker.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	op.Applier = eng
	entry, err := op.AllowHosts(ctx, slug, hosts, notes)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdio.Out, "pipelock of %s now allows: %s\n", slug, strings.Join(entry.After, " "))
	return nil
}
