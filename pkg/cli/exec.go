package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/moby/term"

	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/names"
)

// ExitCodeError carries the exit code of a command run in a bottle, which
// the CLI exits with (printing nothing more: the command spoke for itself).
type ExitCodeError struct{ Code int }

func (e *ExitCodeError) Error() string { return fmt.Sprintf("command exited with %d", e.Code) }

// exitCode turns a command's exit code into the error the CLI returns.
func exitCode(code int) error {
	if code == 0 {
		return nil
	}
	return &ExitCodeError{Code: code}
}

// streamer is the part of the engine a streamed exec needs.
type streamer interface {
	ExecStream(ctx context.Context, id string, argv []string, opts docker.StreamOptions) (int, error)
}

var _ streamer = (*docker.Engine)(nil)

// ExecOptions are the inputs of Exec.
type ExecOptions struct {
	Slug string
	Cmd  []string
	// Interactive passes stdin to the command.
	Interactive bool
	// TTY gives the command a terminal (the caller's, in raw mode, resized
	// with it); it needs stdin and stdout to be terminals.
	TTY     bool
	User    string
	WorkDir string
	Env     []string
}

// Exec runs a command in a bottle's agent, streaming its output, and
// returns its exit code.
func Exec(ctx context.Context, eng streamer, opts ExecOptions, stdio Stdio) (int, error) {
	if err := names.ValidateSlug(opts.Slug); err != nil {
		return -1, &UsageError{Msg: err.Error()}
	}
	if len(opts.Cmd) == 0 {
		return -1, &UsageError{Msg: "no command given"}
	}
	so := docker.StreamOptions{User: opts.User, WorkDir: opts.WorkDir, Env: opts.Env, Stdout: stdio.Out, Stderr: stdio.Err}
	if opts.Interactive || opts.TTY {
		so.Stdin = stdio.In
	}
	if opts.TTY {
		return execTTY(ctx, eng, names.AgentContainer(opts.Slug), opts.Cmd, so, stdio)
	}
	return eng.ExecStream(ctx, names.AgentContainer(opts.Slug), opts.Cmd, so)
}

// execTTY runs argv on the caller's terminal: raw mode for the duration,
// the terminal's size passed on at start and on every SIGWINCH. Keys such
// as Ctrl-C travel as bytes to the command's own terminal, as in a local
// shell.
func execTTY(ctx context.Context, eng streamer, ctr string, argv []string, so docker.StreamOptions, stdio Stdio) (int, error) {
	inFd, inTerm := term.GetFdInfo(stdio.In)
	outFd, outTerm := term.GetFdInfo(stdio.Out)
	if !inTerm || !outTerm {
		return -1, &UsageError{Msg: "-t needs a terminal on stdin and stdout (drop -t, or run it from a terminal)"}
	}
	so.TTY = true
	so.Stderr = nil
	if ws, err := term.GetWinsize(outFd); err == nil {
		so.Size = docker.TermSize{Height: uint(ws.Height), Width: uint(ws.Width)}
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	resize := make(chan docker.TermSize, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-winch:
				if ws, err := term.GetWinsize(outFd); err == nil {
					select {
					case resize <- docker.TermSize{Height: uint(ws.Height), Width: uint(ws.Width)}:
					default:
					}
				}
			}
		}
	}()
	so.Resize = resize
	state, err := term.SetRawTerminal(inFd)
	if err != nil {
		return -1, fmt.Errorf("terminal raw mode: %w", err)
	}
	defer func() { _ = term.RestoreTerminal(inFd, state) }()
	return eng.ExecStream(ctx, ctr, argv, so)
}

func runExec(ctx context.Context, args []string, stdio Stdio, _ LookupEnv) error {
	fs := newFlags("exec", stdio)
	interactive := fs.Bool("i", false, "pass stdin to the command")
	tty := fs.Bool("t", false, "give the command a terminal (needs one on stdin and stdout)")
	user := fs.String("u", "", "user to run as (default: the agent's)")
	workdir := fs.String("w", "", "working directory")
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: claude-bottle exec [-i] [-t] [-u USER] [-w DIR] SLUG COMMAND...\n\nRuns COMMAND in the bottle's agent, streaming its output, and exits with its exit code.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return &UsageError{Msg: "usage: claude-bottle exec [-i] [-t] SLUG COMMAND..."}
	}
	eng, err := docker.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	code, err := Exec(ctx, eng, ExecOptions{Slug: fs.Arg(0), Cmd: fs.Args()[1:], Interactive: *interactive, TTY: *tty, User: *user, WorkDir: *workdir}, stdio)
	if err != nil {
		return err
	}
	return exitCode(code)
}

// attach runs an interactive shell in the agent on the caller's terminal.
func attach(ctx context.Context, ctr string, stdio Stdio) error {
	eng, err := docker.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	code, err := execTTY(ctx, eng, ctr, []string{"bash", "-l"}, docker.StreamOptions{Stdin: stdio.In, Stdout: stdio.Out}, stdio)
	var ue *UsageError
	if errors.As(err, &ue) {
		return errors.New("a shell needs a terminal on stdin and stdout")
	}
	if err != nil {
		return err
	}
	return exitCode(code)
}
