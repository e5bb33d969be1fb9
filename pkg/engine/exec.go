package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/pkg/stdcopy"
)

// TermSize is a terminal's size in character cells.
type TermSize struct {
	Height, Width uint
}

// StreamOptions describe one streamed exec.
type StreamOptions struct {
	// User runs the command ("" = the container's user, "0" = root).
	User string
	// Env is added to the container's environment (KEY=value).
	Env []string
	// WorkDir is the working directory ("" = the container's).
	WorkDir string
	// TTY allocates a pseudo-terminal: output arrives raw on Stdout, and
	// Resize sets its size.
	TTY bool
	// Stdin feeds the command and is closed on EOF; nil gives it no stdin.
	Stdin io.Reader
	// Stdout and Stderr receive output as it is produced (Stderr is unused
	// with TTY, where the terminal merges both).
	Stdout, Stderr io.Writer
	// Size is the initial terminal size (TTY only; zero = the engine's default).
	Size TermSize
	// Resize delivers later terminal sizes (TTY only).
	Resize <-chan TermSize
}

// waitForSize waits up to a second for the terminal to get a size, then
// runs its arguments. Without stty it runs them at once.
const waitForSize = `i=0; while [ "$(stty size 2>/dev/null)" = "0 0" ] && [ $i -lt 100 ]; do sleep 0.01; i=$((i+1)); done; exec "$@"`

// ExecStream runs argv in container id, streaming its output as it comes,
// and returns its exit code once it has ended. The error is for the engine
// failing, never for the command's own exit code.
func (e *Engine) ExecStream(ctx context.Context, id string, argv []string, opts StreamOptions) (int, error) {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	eo := container.ExecOptions{
		User: opts.User, Env: opts.Env, WorkingDir: opts.WorkDir, Cmd: argv, Tty: opts.TTY,
		AttachStdin: opts.Stdin != nil, AttachStdout: true, AttachStderr: true,
	}
	if opts.TTY && opts.Size.Height > 0 && opts.Size.Width > 0 {
		if versions.GreaterThanOrEqualTo(e.api.ClientVersion(), "1.42") {
			eo.ConsoleSize = &[2]uint{opts.Size.Height, opts.Size.Width}
		} else {
			// API 1.41 cannot size a terminal before the process starts,
			// and a program that reads its size at once (a TUI, stty)
			// would see 0x0: wait, briefly, for the resize below to land.
			eo.Cmd = append([]string{"sh", "-c", waitForSize, "sh"}, argv...)
		}
	}
	ex, err := e.api.ContainerExecCreate(ctx, id, eo)
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", argv[0], err)
	}
	att, err := e.api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{Tty: opts.TTY})
	if err != nil {
		return -1, fmt.Errorf("exec %s: attach: %w", argv[0], err)
	}
	defer att.Close()
	// Closing the connection when ctx ends unblocks the copies below.
	stop := context.AfterFunc(ctx, func() { att.Close() })
	defer stop()
	if opts.TTY {
		if opts.Size.Height > 0 && opts.Size.Width > 0 {
			_ = e.api.ContainerExecResize(ctx, ex.ID, container.ResizeOptions{Height: opts.Size.Height, Width: opts.Size.Width})
		}
		if opts.Resize != nil {
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case s, ok := <-opts.Resize:
						if !ok {
							return
						}
						_ = e.api.ContainerExecResize(ctx, ex.ID, container.ResizeOptions{Height: s.Height, Width: s.Width})
					}
				}
			}()
		}
	}
	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, opts.Stdin)
			_ = att.CloseWrite()
		}()
	}
	if opts.TTY {
		_, err = io.Copy(opts.Stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(opts.Stdout, opts.Stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return -1, fmt.Errorf("exec %s: output: %w", argv[0], err)
	}
	// The stream ends a moment before the engine records the exit code.
	for range 100 {
		st, err := e.api.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return -1, fmt.Errorf("exec %s: %w", argv[0], err)
		}
		if !st.Running {
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return -1, fmt.Errorf("exec %s: output ended but the process still runs", argv[0])
}

// Exec runs argv in a container as user and returns its combined output.
func (e *Engine) Exec(ctx context.Context, id, user string, argv []string) (string, int, error) {
	return e.exec(ctx, id, user, argv, nil)
}

// ExecScript runs script with sh in a container as user, the script on
// stdin (never on argv, where `ps` and the engine's event log would show
// it), and returns its combined output and exit code.
func (e *Engine) ExecScript(ctx context.Context, id, user, script string) (string, int, error) {
	return e.exec(ctx, id, user, []string{"sh", "-s"}, &script)
}

// exec runs argv, with stdin written to it and closed when given, and
// returns the combined output and the exit code.
func (e *Engine) exec(ctx context.Context, id, user string, argv []string, stdin *string) (string, int, error) {
	ex, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{User: user, Cmd: argv, AttachStdin: stdin != nil, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", -1, err
	}
	att, err := e.api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", -1, err
	}
	defer att.Close()
	if stdin != nil {
		go func() {
			_, _ = io.WriteString(att.Conn, *stdin)
			_ = att.CloseWrite()
		}()
	}
	var outb bytes.Buffer
	if _, err := stdcopy.StdCopy(&outb, &outb, att.Reader); err != nil {
		return "", -1, err
	}
	st, err := e.api.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		return outb.String(), -1, err
	}
	return outb.String(), st.ExitCode, nil
}
