package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/operator"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/termtext"
)

type allowOptions struct {
	notes     string
	asJSON    bool
	widenAuth bool
}

// Reachable is what `allow SLUG --json` prints: what the running bottle
// lets through.
type Reachable struct {
	Slug     string            `json:"slug"`
	Routes   []daemoncfg.Route `json:"routes"`
	Pipelock []string          `json:"pipelock"`
}

func newAllowCmd(a *app) *cobra.Command {
	var o allowOptions
	cmd := &cobra.Command{
		Use:   "allow SLUG [HOST[/PATH]...] [--notes T]",
		Short: "make hosts reachable from a running bottle, or list what is",
		Long: `With hosts: make each reachable from the running bottle — an egress route
(added when the host has none; HOST/PATH adds that path prefix to it) and
pipelock's allowlist entry, both reloaded — and record it in the audit log.
Extending a route that carries a credential to more paths needs
--widen-auth. Without hosts: print the routes and pipelock's allowlist.`,
		Example: `  claude-bottle allow default-abcde
  claude-bottle allow default-abcde registry.npmjs.org --notes "npm install"
  claude-bottle allow default-abcde api.github.com/repos/acme/ --json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("allow: give the bottle's slug (claude-bottle ls)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAllow(cmd.Context(), a, args[0], args[1:], o)
		},
	}
	cmd.Flags().StringVarP(&o.notes, "notes", "n", "", "note for the audit log")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print JSON: without hosts {slug, routes, pipelock}; with hosts the audit entry")
	cmd.Flags().BoolVar(&o.widenAuth, "widen-auth", false, "allow sending a route's credential to more paths than the manifest gave it")
	return cmd
}

func runAllow(ctx context.Context, a *app, slug string, hosts []string, o allowOptions) error {
	layout, err := statedir.FromEnv(a.env)
	if err != nil {
		return err
	}
	op := &operator.Operator{Layout: layout}
	if len(hosts) == 0 {
		r, err := reachable(op, slug)
		if err != nil {
			return err
		}
		if o.asJSON {
			return writeJSON(a.stdio.Out, r)
		}
		for _, h := range r.Pipelock {
			fmt.Fprintln(a.stdio.Out, h)
		}
		return nil
	}
	var as []operator.Access
	for _, h := range hosts {
		acc, err := operator.ParseHostPath(h)
		if err != nil {
			return &UsageError{Msg: "allow: " + err.Error()}
		}
		acc.KeepRoute = len(acc.Paths) == 0
		acc.WidenAuth = o.widenAuth
		as = append(as, acc)
	}
	eng, err := lifecycle.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	op.Applier = eng
	entry, err := op.AllowAccess(ctx, slug, as, o.notes)
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(a.stdio.Out, entry)
	}
	printChange(a.stdio.Out, entry)
	return nil
}

// reachable reads what a staged bottle lets through.
func reachable(op *operator.Operator, slug string) (Reachable, error) {
	list, err := op.Allowlist(slug)
	if err != nil {
		return Reachable{}, err
	}
	rs, err := op.Routes(slug)
	if err != nil {
		return Reachable{}, err
	}
	if list == nil {
		list = []string{}
	}
	return Reachable{Slug: slug, Routes: rs, Pipelock: list}, nil
}

// printChange shows what an approval, allow or deny changed.
func printChange(w io.Writer, e operator.AuditEntry) {
	if e.RoutesBefore != nil || e.RoutesAfter != nil {
		fmt.Fprintf(w, "egress routes of %s: %s\n", e.Slug, describeRoutes(e.RoutesAfter))
	}
	fmt.Fprintf(w, "pipelock of %s now allows: %s\n", e.Slug, strings.Join(e.After, " "))
	if e.WidenedAuth != nil {
		fmt.Fprintf(w, "WIDENED: %s\n", termtext.Escape(e.WidenedAuth.String()))
	}
}

func describeRoutes(rs []daemoncfg.Route) string {
	if len(rs) == 0 {
		return "(none)"
	}
	var parts []string
	for _, r := range rs {
		s := r.Host
		if len(r.Paths) > 0 {
			s += " " + strings.Join(r.Paths, ",")
		}
		if r.Auth != nil {
			s += " [" + r.Auth.Scheme + " credential]"
		}
		parts = append(parts, termtext.Escape(s))
	}
	return strings.Join(parts, "; ")
}

func newDenyCmd(a *app) *cobra.Command {
	var o allowOptions
	cmd := &cobra.Command{
		Use:     "deny SLUG HOST[/PATH]... [--notes T]",
		Aliases: []string{"revoke"},
		Short:   "take back what allow or an approval let through",
		Long: `HOST removes the host's egress route and its pipelock entry; HOST/PATH removes
that path prefix from the route (the route goes when no prefix is left).
Egress reloads first, so nothing reaches the host from then on. Recorded in
the audit log like an approval.`,
		Example: `  claude-bottle deny default-abcde registry.npmjs.org
  claude-bottle revoke default-abcde api.github.com/repos/acme/ --notes "task done"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("deny: give the bottle's slug and at least one HOST[/PATH]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var as []operator.Access
			for _, h := range args[1:] {
				acc, err := operator.ParseHostPath(h)
				if err != nil {
					return &UsageError{Msg: "deny: " + err.Error()}
				}
				as = append(as, acc)
			}
			layout, eng, err := openEngine(ctx, a.env)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			op := &operator.Operator{Layout: layout, Applier: eng}
			var entries []operator.AuditEntry
			for _, acc := range as {
				e, err := op.Revoke(ctx, args[0], acc, o.notes)
				if err != nil {
					return err
				}
				entries = append(entries, e)
			}
			if o.asJSON {
				return writeJSON(a.stdio.Out, entries)
			}
			for _, e := range entries {
				printChange(a.stdio.Out, e)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.notes, "notes", "n", "", "note for the audit log")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the audit entries as JSON")
	return cmd
}
