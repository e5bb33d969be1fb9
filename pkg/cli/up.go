package cli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"text/tabwriter"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/sidecarflag"
)

func runUp(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	fs := newFlags("up", stdio)
	file := fs.String("f", "", "bottle manifest (default: the embedded default bottle)")
	detach := fs.Bool("detach", false, "leave the bottle running without attaching a shell")
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: claude-bottle up [-f bottle.toml] [--detach] [-- COMMAND...]\n\nBrings a bottle up and attaches a shell in the agent (on a terminal), runs COMMAND in it, or leaves it running (--detach).")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := loadManifest(*file, env)
	if err != nil {
		return err
	}
	layout, eng, err := openEngine(ctx, env)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	image := sidecarflag.Image(env)
	var plan *bottle.Plan
	// Images, staging and bring-up report through one progress display,
	// gone before the shell or the command takes the terminal.
	err = withProgress(stdio.Out, func(out io.Writer) error {
		for _, ref := range []string{image, r.Image} {
			if _, err := images.Ensure(ctx, eng, ref, images.EnsureOptions{SidecarImage: image, Lookup: env, Out: out}); err != nil {
				return err
			}
		}
		var err error
		plan, err = bottle.Prepare(bottle.Options{Bottle: r, Shape: sidecarflag.FromEnv(env), SidecarImage: image, Layout: layout, User: compose.OperatorUser()})
		if err != nil {
			return err
		}
		if err := plan.Stage(); err != nil {
			return err
		}
		fmt.Fprintf(out, "bottle %s: state in %s\n", plan.Slug, layout.StateDir(plan.Slug))
		return eng.Up(ctx, plan, r.TokenEnv(), out)
	})
	if err != nil {
		return err
	}
	agent := names.AgentContainer(plan.Slug)
	cmd := fs.Args()
	switch {
	case len(cmd) > 0:
		out, code, err := eng.Exec(ctx, agent, "", cmd)
		fmt.Fprint(stdio.Out, out)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("command exited with %d (the bottle stays up: claude-bottle down %s)", code, plan.Slug)
		}
	case !*detach && isTerminal(stdio.In) && isTerminal(stdio.Out):
		return attach(ctx, agent, stdio)
	default:
		fmt.Fprintf(stdio.Out, "attach: claude-bottle shell %s   stop: claude-bottle down %s\n", plan.Slug, plan.Slug)
	}
	return nil
}

// attach runs an interactive shell in the agent through the docker CLI,
// which owns the terminal handling.
func attach(ctx context.Context, ctr string, stdio Stdio) error {
	c := exec.CommandContext(ctx, "docker", "exec", "-it", ctr, "bash")
	c.Stdin, c.Stdout, c.Stderr = stdio.In, stdio.Out, stdio.Err
	return c.Run()
}

func runShell(ctx context.Context, args []string, stdio Stdio, _ LookupEnv) error {
	if len(args) != 1 {
		return &UsageError{Msg: "usage: claude-bottle shell SLUG"}
	}
	if err := names.ValidateSlug(args[0]); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	return attach(ctx, names.AgentContainer(args[0]), stdio)
}

func runExec(ctx context.Context, args []string, stdio Stdio, _ LookupEnv) error {
	if len(args) < 2 {
		return &UsageError{Msg: "usage: claude-bottle exec SLUG COMMAND..."}
	}
	if err := names.ValidateSlug(args[0]); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	eng, err := docker.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	out, code, err := eng.Exec(ctx, names.AgentContainer(args[0]), "", args[1:])
	fmt.Fprint(stdio.Out, out)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("command exited with %d", code)
	}
	return nil
}

func runDown(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	fs := newFlags("down", stdio)
	keep := fs.Bool("keep", false, "keep the state directory (compose.log, configs)")
	slug, err := parsePositional(fs, args)
	if err != nil {
		return err
	}
	if err := names.ValidateSlug(slug); err != nil {
		return &UsageError{Msg: "usage: claude-bottle down SLUG [--keep]: " + err.Error()}
	}
	layout, eng, err := openEngine(ctx, env)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	if err := eng.Down(ctx, layout, slug, *keep); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "bottle %s is down\n", slug)
	return nil
}

func runLs(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	fs := newFlags("ls", stdio)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	layout, eng, err := openEngine(ctx, env)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	bs, err := eng.Bottles(ctx, layout)
	if err != nil {
		return err
	}
	if *asJSON {
		if bs == nil {
			bs = []docker.BottleInfo{}
		}
		return writeJSON(stdio.Out, bs)
	}
	if len(bs) == 0 {
		fmt.Fprintln(stdio.Out, "no bottles")
		return nil
	}
	tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tSHAPE\tRUNNING\tSTARTED")
	for _, b := range bs {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\n", b.Slug, b.Shape, b.Running, len(b.Containers), b.StartedAt)
	}
	return tw.Flush()
}
