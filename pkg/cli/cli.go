// Package cli implements the claude-bottle command line: the command tree
// (github.com/spf13/cobra), and the mapping of errors to exit codes.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Stdio is the standard streams of one invocation.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// LookupEnv reads a variable of the caller's environment (os.LookupEnv in main).
type LookupEnv func(string) (string, bool)

// Exit codes. They are documented in docs/operations.md ("Exit codes").
const (
	// ExitOK: the command did what was asked.
	ExitOK = 0
	// ExitError: the command ran and failed (engine, manifest, bottle, a
	// failed check or attack, a command in the bottle that exited non-zero).
	ExitError = 1
	// ExitUsage: the command line is wrong (unknown command or flag, missing
	// or malformed argument); nothing was done.
	ExitUsage = 2
)

// UsageError is an error in how the command was called.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// app is one invocation: its streams and environment, shared by the
// commands of the tree.
type app struct {
	stdio Stdio
	env   LookupEnv
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdio Stdio, env LookupEnv) int {
	root := newRoot(&app{stdio: stdio, env: env})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stdio.Err, "claude-bottle: %v\n", err)
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stdio.Err, "run 'claude-bottle help' (or 'claude-bottle help COMMAND') for usage")
		return ExitUsage
	}
	var ce *ExitCodeError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ExitError
}

const rootLong = `claude-bottle runs an AI coding agent in a disposable container whose only
ways out are audited sidecars: egress (the only route to the internet),
pipelock (DLP on every request), git-gate (pushes) and supervise (the
agent's requests for more).`

const exitCodesHelp = `
Exit codes:
  0  success
  1  the command ran and failed (engine, manifest, bottle, a failed check)
  2  usage error: unknown command or flag, missing or malformed argument
  3  selftest: the bottle passed, but a control's allowed host is unreachable
     from this machine
  exec, up -- COMMAND and run exit with the exit code of what they ran in the agent`

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "claude-bottle",
		Short: "run an AI coding agent in a sandbox whose only ways out are audited",
		Long:  rootLong,
		Example: `  claude-bottle run                         # Claude Code on this repository, in a fresh bottle
  claude-bottle run -p "fix the tests"      # headless, output streamed
  claude-bottle up -d                       # the default bottle, left running
  claude-bottle up -f bottle.toml           # a bottle of your own, with a shell in it
  claude-bottle supervise                   # answer what blocked agents ask for
  claude-bottle help up                     # help of one command`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Args (instead of cobra's default) so that an unknown command is a
		// UsageError (exit 2) and still carries cobra's suggestions.
		Args: unknownSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(a.stdio.In)
	root.SetOut(a.stdio.Out)
	root.SetErr(a.stdio.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Msg: err.Error()} })
	root.SetUsageTemplate(root.UsageTemplate() + exitCodesHelp + "\n")
	root.AddCommand(
		newAllowCmd(a), newCleanupCmd(a), newDenyCmd(a), newDoctorCmd(a), newDownCmd(a), newExecCmd(a), newInitCmd(a),
		newLogsCmd(a), newLsCmd(a), newRenderCmd(a), newSelftestCmd(a), newShellCmd(a), newSuperviseCmd(a),
		newUpCmd(a), newValidateCmd(a), newVersionCmd(a), newRunCmd(a), newPullCmd(a),
	)
	return root
}

// unknownSubcommand is the Args of a command whose arguments are
// subcommands: any argument left over names no subcommand.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	what := "command"
	if cmd.HasParent() {
		what = "subcommand"
	}
	msg := fmt.Sprintf("unknown %s %q for %q", what, args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's own default, set only on its path
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return &UsageError{Msg: msg}
}

// exactArgs is cobra.ExactArgs with a UsageError naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("usage: %s: %s", cmd.UseLine(), what)
		}
		return nil
	}
}

// openEngine reads the state layout from the environment and connects to
// the engine; the caller closes the engine.
func openEngine(ctx context.Context, env LookupEnv) (statedir.Layout, *lifecycle.Backend, error) {
	layout, err := statedir.FromEnv(env)
	if err != nil {
		return statedir.Layout{}, nil, err
	}
	eng, err := lifecycle.Connect(ctx)
	if err != nil {
		return statedir.Layout{}, nil, err
	}
	eng.AllowEngineBug, _ = env(lifecycle.AllowEngineBugEnv)
	return layout, eng, nil
}

// writeJSON prints v as indented JSON, for --json output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether f is an interactive terminal: an *os.File
// whose descriptor answers terminal ioctls. A character device that is not
// a terminal (/dev/null), a pipe or a regular file is not one.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	return term.IsTerminal(int(file.Fd())) //nolint:gosec // a file descriptor fits an int
}

// fancyOutput reports whether w may get cursor movement and colour: a
// terminal, TERM is not "dumb", and NO_COLOR (https://no-color.org) is not
// set to a non-empty value.
func fancyOutput(w any, env LookupEnv) bool {
	if !isTerminal(w) {
		return false
	}
	if t, _ := env("TERM"); t == "dumb" {
		return false
	}
	if v, ok := env("NO_COLOR"); ok && v != "" {
		return false
	}
	return true
}

// interactive reports whether a full-screen program may run: stdin and
// stdout are terminals and TERM is not "dumb" (which cannot move the
// cursor). NO_COLOR does not matter here: it asks for no colour, not for no
// interaction.
func interactive(stdio Stdio, env LookupEnv) bool {
	if t, _ := env("TERM"); t == "dumb" {
		return false
	}
	return isTerminal(stdio.In) && isTerminal(stdio.Out)
}
