package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
)

// exitCode turns a command's exit code into the error the CLI returns.
func exitCode(code int) error {
	if code == 0 {
		return nil
	}
	return &ExitCodeError{Code: code, Err: fmt.Errorf("command exited with %d", code)}
}

// streamer is the part of the engine a streamed exec needs.
type streamer interface {
	ExecStream(ctx context.Context, id string, argv []string, opts engine.StreamOptions) (int, error)
}

var _ streamer = (*lifecycle.Backend)(nil)

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
	if err := contract.ValidateSlug(opts.Slug); err != nil {
		return -1, &UsageError{Msg: err.Error()}
	}
	if len(opts.Cmd) == 0 {
		return -1, &UsageError{Msg: "no command given"}
	}
	so := engine.StreamOptions{User: opts.User, WorkDir: opts.WorkDir, Env: opts.Env, Stdout: stdio.Out, Stderr: stdio.Err}
	if opts.Interactive || opts.TTY {
		so.Stdin = stdio.In
	}
	if opts.TTY {
		return execTTY(ctx, eng, contract.AgentContainer(opts.Slug), opts.Cmd, so, stdio)
	}
	return eng.ExecStream(ctx, contract.AgentContainer(opts.Slug), opts.Cmd, so)
}

// execTTY runs argv on the caller's terminal: raw mode for the duration,
// the terminal's size passed on at start and on every SIGWINCH. Keys such
// as Ctrl-C travel as bytes to the command's own terminal, as in a local
// shell.
func execTTY(ctx context.Context, eng streamer, ctr string, argv []string, so engine.StreamOptions, stdio Stdio) (int, error) {
	in, inOK := stdio.In.(*os.File)
	out, outOK := stdio.Out.(*os.File)
	if !inOK || !outOK || !isTerminal(in) || !isTerminal(out) {
		return -1, &UsageError{Msg: "-t needs a terminal on stdin and stdout (drop -t, or run it from a terminal)"}
	}
	inFd, outFd := int(in.Fd()), int(out.Fd())
	so.TTY = true
	so.Stderr = nil
	size := func() (engine.TermSize, bool) {
		w, h, err := term.GetSize(outFd)
		if err != nil || w <= 0 || h <= 0 {
			return engine.TermSize{}, false
		}
		return engine.TermSize{Height: uint(h), Width: uint(w)}, true
	}
	if s, ok := size(); ok {
		so.Size = s
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	resize := make(chan engine.TermSize, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-winch:
				if s, ok := size(); ok {
					select {
					case resize <- s:
					default:
					}
				}
			}
		}
	}()
	so.Resize = resize
	state, err := term.MakeRaw(inFd)
	if err != nil {
		return -1, fmt.Errorf("terminal raw mode: %w", err)
	}
	defer func() { _ = term.Restore(inFd, state) }()
	return eng.ExecStream(ctx, ctr, argv, so)
}

type execOptions struct {
	interactive, tty bool
	user, workdir    string
}

func newExecCmd(a *app) *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec [-i] [-t] [-u USER] [-w DIR] SLUG COMMAND...",
		Short: "run a command in a bottle's agent",
		Long: `Runs COMMAND in the agent of a running bottle, streaming its output as it is
produced (stdout and stderr apart), and exits with its exit code. -i passes
stdin, -t gives it your terminal (raw mode, resized with your window).
Flags after SLUG belong to COMMAND.`,
		Example: `  claude-bottle exec default-abcde curl -sS https://example.org/
  claude-bottle exec -it default-abcde bash
  claude-bottle exec -w /workspace run-abcde git log --oneline`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("usage: %s", cmd.UseLine())
			}
			return slugArg(cmd, args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := lifecycle.Connect(ctx)
			if err != nil {
				return err
			}
			defer func() { _ = eng.Close() }()
			code, err := Exec(ctx, eng, ExecOptions{Slug: args[0], Cmd: args[1:], Interactive: o.interactive, TTY: o.tty, User: o.user, WorkDir: o.workdir}, a.stdio)
			if err != nil {
				return err
			}
			return exitCode(code)
		},
	}
	// Everything after SLUG is the command, its flags included.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().BoolVarP(&o.interactive, "interactive", "i", false, "pass stdin to the command")
	cmd.Flags().BoolVarP(&o.tty, "tty", "t", false, "give the command a terminal (needs one on stdin and stdout)")
	cmd.Flags().StringVarP(&o.user, "user", "u", "", "user to run as (default: the agent's)")
	cmd.Flags().StringVarP(&o.workdir, "workdir", "w", "", "working directory")
	return cmd
}

// attach runs an interactive shell in the agent on the caller's terminal.
func attach(ctx context.Context, ctr string, stdio Stdio) error {
	eng, err := lifecycle.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = eng.Close() }()
	code, err := execTTY(ctx, eng, ctr, []string{"bash", "-l"}, engine.StreamOptions{Stdin: stdio.In, Stdout: stdio.Out}, stdio)
	var ue *UsageError
	if errors.As(err, &ue) {
		return errors.New("a shell needs a terminal on stdin and stdout")
	}
	if err != nil {
		return err
	}
	return exitCode(code)
}
