package targets

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/magefile/mage/mg"
)

// progress is where targets print what they do: always stdout, because long
// work (a cold base build takes minutes) must show progress.
var progress io.Writer = os.Stdout

// detail is where tool output goes: stdout with -v, nowhere otherwise.
func detail() io.Writer {
	if mg.Verbose() {
		return os.Stdout
	}
	return io.Discard
}

// engine connects to the Docker engine or returns the actionable error.
func connect(ctx context.Context) (*engine.Engine, error) {
	return engine.Connect(ctx)
}

// goCmd runs the go command with stdout/stderr attached and extra env.
// goCmdTee is goCmd with stdout also copied into tee.
func goCmdTee(ctx context.Context, tee io.Writer, env []string, args ...string) error {
	fmt.Fprintf(progress, "+ go %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stdout = io.MultiWriter(os.Stdout, tee)
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", args[0], err)
	}
	return nil
}

func goCmd(ctx context.Context, env []string, args ...string) error {
	fmt.Fprintf(progress, "+ go %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w", args[0], err)
	}
	return nil
}
