package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/supervise"
)

func runAllow(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	fs := newFlags("allow", stdio)
	notes := fs.String("notes", "", "note for the audit log")
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: claude-bottle allow SLUG [HOST...] [--notes T]\n\nWith hosts: add them to the running bottle's pipelock allowlist and restart pipelock.\nWithout: print the current allowlist, one host per line.")
	}
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pos = append(pos, fs.Args()...)
	if len(pos) == 0 {
		return &UsageError{Msg: "allow: give the bottle's slug (claude-bottle ls)"}
	}
	layout, err := statedir.FromEnv(env)
	if err != nil {
		return err
	}
	slug, hosts := pos[0], pos[1:]
	op := &supervise.Operator{Layout: layout}
	if len(hosts) == 0 {
		list, err := op.Allowlist(slug)
		if err != nil {
			return err
		}
		for _, h := range list {
			fmt.Fprintln(stdio.Out, h)
		}
		return nil
	}
	eng, err := docker.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	op.Applier = eng
	entry, err := op.AllowHosts(ctx, slug, hosts, *notes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "pipelock of %s now allows: %s\n", slug, strings.Join(entry.After, " "))
	return nil
}
