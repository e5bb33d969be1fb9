package lifecycle

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// FailAtEnv names the test hook that interrupts `claude-bottle up` at one
// step of its progress list: "<step>" or "<step>:SIGINT" sends the CLI
// SIGINT at that step (as a user's Ctrl-C would), "<step>:SIGTERM"
// SIGTERM, "<step>:error" fails the step as an engine error would. Tests
// use it to prove that an interrupted up leaves nothing behind.
const FailAtEnv = "CLAUDE_BOTTLE_TEST_FAIL_AT"

// UpSteps are the steps of `up`, in order.
var UpSteps = []string{
	"images", "stage", "networks", "sidecars-created", "sidecars-started", "sidecars-healthy",
	"agent-created", "agent-started", "provisioned",
}

// Checkpoint is called at each step of up; an error stops up there.
type Checkpoint func(ctx context.Context, step string) error

// FailAt builds the Checkpoint of a FailAtEnv value ("" → nil).
func FailAt(spec string) (Checkpoint, error) {
	if spec == "" {
		return nil, nil
	}
	step, how, _ := strings.Cut(spec, ":")
	if !slices.Contains(UpSteps, step) {
		return nil, fmt.Errorf("%s=%q: unknown step (steps: %s)", FailAtEnv, spec, strings.Join(UpSteps, ", "))
	}
	var sig syscall.Signal
	switch how {
	case "", "SIGINT":
		sig = syscall.SIGINT
	case "SIGTERM":
		sig = syscall.SIGTERM
	case "error":
	default:
		return nil, fmt.Errorf("%s=%q: after the step give SIGINT, SIGTERM or error", FailAtEnv, spec)
	}
	return func(ctx context.Context, at string) error {
		if at != step {
			return nil
		}
		if sig == 0 {
			return fmt.Errorf("engine error injected at step %s (%s)", step, FailAtEnv)
		}
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			return err
		}
		// The CLI's signal handler cancels ctx; up then stops as it would
		// on a real signal at this point.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Second):
			return fmt.Errorf("%s: %v at step %s did not cancel up", FailAtEnv, sig, step)
		}
	}, nil
}

// Run calls the checkpoint, if any.
func (c Checkpoint) Run(ctx context.Context, step string) error {
	if c == nil {
		return nil
	}
	return c(ctx, step)
}

func (e *Backend) checkpoint(ctx context.Context, step string) error {
	return e.Checkpoint.Run(ctx, step)
}
