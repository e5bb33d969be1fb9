// Package cli implements the claude-bottle command line: argument parsing,
// dispatch to the subcommands, and the mapping of errors to exit codes.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/docker"
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

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// UsageError is an error in how the command was called.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

type command struct {
	summary string
	run     func(ctx context.Context, args []string, io Stdio, env LookupEnv) error
}

func commands() map[string]command {
	return map[string]command{
		"allow":     {"add hosts to a running bottle's pipelock allowlist, or list it", runAllow},
		"cleanup":   {"find and remove leftovers of bottles that are not running (--yes)", runCleanup},
		"doctor":    {"check the engine, the images and that internal networks isolate", runDoctor},
		"down":      {"stop a bottle and remove its containers, networks and state", runDown},
		"exec":      {"run a command in a bottle's agent", runExec},
		"ls":        {"list bottles on the engine (--json)", runLs},
		"selftest":  {"run the sandbox-escape attacks against a running bottle", runSelftest},
		"shell":     {"open a shell in a bottle's agent", runShell},
		"up":        {"bring a bottle up from a manifest (or the default bottle)", runUp},
		"render":    {"print the compose YAML of a bottle (honours CLAUDE_BOTTLE_SIDECAR_BUNDLE)", runRender},
		"supervise": {"list, approve or reject what blocked agents ask for", runSupervise},
		"version":   {"print the version", runVersion},
	}
}

// Main runs the CLI and returns the process exit code.
func Main(ctx context.Context, args []string, stdio Stdio, env LookupEnv) int {
	err := run(ctx, args, stdio, env)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(stdio.Err, "claude-bottle: %v\n", err)
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stdio.Err, "run 'claude-bottle help' for usage")
		return ExitUsage
	}
	return ExitError
}

func run(ctx context.Context, args []string, stdio Stdio, env LookupEnv) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdio.Out)
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		return &UsageError{Msg: fmt.Sprintf("unknown command %q", args[0])}
	}
	return cmd.run(ctx, args[1:], stdio, env)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "claude-bottle runs an AI coding agent in a disposable container whose only ways out are audited sidecars.")
	fmt.Fprintln(w, "\nUsage: claude-bottle <command> [flags]\n\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// newFlags returns a flag set that reports errors as UsageError instead of exiting.
func newFlags(name string, stdio Stdio) *flag.FlagSet {
	fs := flag.NewFlagSet("claude-bottle "+name, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &UsageError{Msg: strings.TrimSpace(err.Error())}
	}
	return nil
}

// parsePositional parses args whose one positional argument (a slug, a
// proposal ID) may come before or after the flags, and returns it ("" when
// there is none).
func parsePositional(fs *flag.FlagSet, args []string) (string, error) {
	var first string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		first, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if first == "" && fs.NArg() > 0 {
		first = fs.Arg(0)
	}
	return first, nil
}

// openEngine reads the state layout from the environment and connects to
// the engine; the caller closes the engine.
func openEngine(ctx context.Context, env LookupEnv) (statedir.Layout, *docker.Engine, error) {
	layout, err := statedir.FromEnv(env)
	if err != nil {
		return statedir.Layout{}, nil, err
	}
	eng, err := docker.Connect(ctx)
	if err != nil {
		return statedir.Layout{}, nil, err
	}
	return layout, eng, nil
}

// writeJSON prints v as indented JSON, for --json output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Version is stamped at build time with -ldflags -X; "dev" otherwise.
var Version = "dev"

func runVersion(_ context.Context, args []string, stdio Stdio, _ LookupEnv) error {
	fs := newFlags("version", stdio)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "claude-bottle %s\n", Version)
	return nil
}
