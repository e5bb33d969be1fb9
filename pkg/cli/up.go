package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/operator"
)

type upOptions struct {
	file   string
	detach bool
	asJSON bool
}

// UpResult is what `claude-bottle up --json` prints once the bottle is up.
type UpResult struct {
	Slug     string `json:"slug"`
	Manifest string `json:"manifest"` // the file used, "" for the embedded default
	StateDir string `json:"state_dir"`
	Shape    string `json:"shape"`
	Agent    string `json:"agent"` // the agent's container
}

func newUpCmd(a *app) *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up [-f bottle.toml] [-d] [-- COMMAND...]",
		Short: "bring a bottle up from a manifest (or the default bottle)",
		Long: `Uses -f FILE, else the nearest bottle.toml from the current directory upward,
else the embedded default bottle, and prints which. Builds any missing image,
stages the bottle's state directory and starts its containers. Then, on a terminal, attaches a shell in the agent; with COMMAND,
runs it in the agent and prints its output; with --detach (or off a
terminal), leaves the bottle running and prints how to reach it.`,
		Example: `  claude-bottle up                          # the default bottle, a shell in it
  claude-bottle up -d -f bottle.toml        # leave it running
  claude-bottle up -- claude --version      # run one command in it`,
		RunE: func(cmd *cobra.Command, args []string) error { return runUp(cmd.Context(), a, o, args) },
	}
	// The command after the flags goes to the agent as it is.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVarP(&o.file, "file", "f", "", "bottle manifest (default: the nearest bottle.toml upward, else the embedded default bottle)")
	cmd.Flags().BoolVarP(&o.detach, "detach", "d", false, "leave the bottle running without attaching a shell")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "progress on stderr, then {slug, manifest, state_dir, shape, agent} on stdout; implies --detach")
	return cmd
}

func runUp(ctx context.Context, a *app, o upOptions, cmdArgs []string) error {
	stdio, env := a.stdio, a.env
	path, err := manifestPath(o.file)
	if err != nil {
		return err
	}
	progressOut := stdio.Out
	if o.asJSON {
		progressOut, o.detach = stdio.Err, true
	}
	fmt.Fprintln(progressOut, describeSource(path))
	r, err := loadManifest(path, env)
	if err != nil {
		return err
	}
	layout, eng, err := openEngine(ctx, env)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	failAt, _ := env(lifecycle.FailAtEnv)
	if eng.Checkpoint, err = lifecycle.FailAt(failAt); err != nil {
		return err
	}
	image := contract.SidecarImage(env)
	var plan *bottle.Plan
	staged := false
	// Images, staging and bring-up report through one progress display,
	// gone before the shell or the command takes the terminal.
	err = withProgress(progressOut, env, func(out io.Writer) error {
		for _, ref := range []string{image, r.Image} {
			if _, err := images.Ensure(ctx, eng.Engine, ref, images.EnsureOptions{SidecarImage: image, Lookup: env, Out: out, Version: BuildVersion().Version}); err != nil {
				return err
			}
		}
		if err := eng.Checkpoint.Run(ctx, "images"); err != nil {
			return err
		}
		var err error
		plan, err = bottle.Prepare(bottle.Options{Bottle: r, Shape: contract.ShapeFromEnv(env), SidecarImage: image, Layout: layout, User: compose.OperatorUser()})
		if err != nil {
			return err
		}
		if err := plan.Stage(); err != nil {
			return err
		}
		fmt.Fprintf(out, "bottle %s: state in %s\n", plan.Slug, layout.StateDir(plan.Slug))
		staged = true
		if err := eng.Checkpoint.Run(ctx, "stage"); err != nil {
			return err
		}
		return eng.Up(ctx, plan, r.TokenEnv(), out)
	})
	if err != nil && staged {
		return afterFailedUp(ctx, eng, layout, plan.Slug, err, stdio.Out)
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stdio.Out, "up interrupted before anything was created; nothing is left")
		}
		return err
	}
	agent := contract.AgentContainer(plan.Slug)
	if o.asJSON && len(cmdArgs) == 0 {
		return writeJSON(stdio.Out, UpResult{Slug: plan.Slug, Manifest: path, StateDir: layout.StateDir(plan.Slug),
			Shape: string(contract.ShapeFromEnv(env)), Agent: agent})
	}
	switch {
	case len(cmdArgs) > 0:
		code, err := eng.ExecStream(ctx, agent, cmdArgs, engine.StreamOptions{Stdout: stdio.Out, Stderr: stdio.Err})
		if err != nil {
			return err
		}
		if code != 0 {
			fmt.Fprintf(stdio.Err, "claude-bottle: command exited with %d (the bottle stays up: claude-bottle down %s)\n", code, plan.Slug)
			return exitCode(code)
		}
	case !o.detach && isTerminal(stdio.In) && isTerminal(stdio.Out):
		return attach(ctx, agent, stdio)
	default:
		fmt.Fprintf(stdio.Out, "attach: claude-bottle shell %s   stop: claude-bottle down %s\n", plan.Slug, plan.Slug)
	}
	return nil
}

// slugArg validates a bottle slug given on the command line.
func slugArg(cmd *cobra.Command, slug string) error {
	if err := contract.ValidateSlug(slug); err != nil {
		return usagef("usage: %s: %v", cmd.UseLine(), err)
	}
	return nil
}

func newShellCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "shell SLUG",
		Short:   "open a shell in a bottle's agent",
		Long:    "Runs an interactive bash in the agent of a running bottle, on your terminal.",
		Example: "  claude-bottle shell default-abcde",
		Args:    exactArgs(1, "give the bottle's slug (claude-bottle ls)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := slugArg(cmd, args[0]); err != nil {
				return err
			}
			return attach(cmd.Context(), contract.AgentContainer(args[0]), a.stdio)
		},
	}
}

func newDownCmd(a *app) *cobra.Command {
	var keep, force bool
	cmd := &cobra.Command{
		Use:     "down SLUG [--keep] [--force]",
		Short:   "stop a bottle and remove its containers, networks and state",
		Example: "  claude-bottle down default-abcde\n  claude-bottle down default-abcde --keep   # keep compose.log and the configs",
		Args:    exactArgs(1, "give the bottle's slug (claude-bottle ls)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			slug := args[0]
			if err := slugArg(cmd, slug); err != nil {
				return err
			}
			ctx := cmd.Context()
			layout, eng, err := openEngine(ctx, a.env)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			if !force && !keep {
				if err := checkWorkSaved(ctx, eng, layout, slug); err != nil {
					return err
				}
			}
			// Pending proposals are answered before the sidecars stop, so an
			// agent still waiting reads "rejected: bottle stopped".
			op := &operator.Operator{Layout: layout, Applier: eng}
			if n, err := op.RejectAll(slug, operator.BottleStopped); err != nil {
				fmt.Fprintf(a.stdio.Err, "warning: %v\n", err)
			} else if n > 0 {
				fmt.Fprintf(a.stdio.Out, "answered %d pending proposal(s): rejected (%s)\n", n, operator.BottleStopped)
			}
			if err := eng.Down(ctx, layout, slug, keep); err != nil {
				return err
			}
			fmt.Fprintf(a.stdio.Out, "bottle %s is down\n", slug)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&keep, "keep", "k", false, "keep the state directory (compose.log, configs)")
	cmd.Flags().BoolVar(&force, "force", false, "discard the agent's work that was not pushed or not pulled (bottles started by run)")
	return cmd
}

func newLsCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "ls [--json]",
		Aliases: []string{"list"},
		Short:   "list bottles on the engine",
		Example: "  claude-bottle ls\n  claude-bottle ls --json | jq -r '.[].slug'",
		Args:    exactArgs(0, "takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			layout, eng, err := openEngine(ctx, a.env)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			bs, err := eng.Bottles(ctx, layout)
			if err != nil {
				return err
			}
			if asJSON {
				if bs == nil {
					bs = []lifecycle.BottleInfo{}
				}
				return writeJSON(a.stdio.Out, bs)
			}
			if len(bs) == 0 {
				fmt.Fprintln(a.stdio.Out, "no bottles")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdio.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SLUG\tSHAPE\tRUNNING\tSTATUS\tRESTARTS\tSTARTED")
			for _, b := range bs {
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", b.Slug, b.Shape, b.Running, len(b.Containers), b.Status, restartsText(b.Restarts), b.StartedAt)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			printProblems(a.stdio.Out, bs)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
