// Package daemons is the multi-call entry point of the sidecar daemons:
// `claude-bottle-sidecar <daemon> [flags]`. cmd/claude-bottle-sidecar is its
// thin main; the claude-bottle CLI runs it too when invoked under that
// name, which is how an installed CLI provides the sidecars image's
// binaries without a Go toolchain (see docs/operations.md, "Installing").
package daemons

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/sidecar"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/egress"
	"github.com/claude-bottle/claude-bottle/pkg/gitgate"
	"github.com/claude-bottle/claude-bottle/pkg/pipelock"
	"github.com/claude-bottle/claude-bottle/pkg/supervise"
)

// Main runs the daemon named by args[0] and returns the exit code: 0, 1 on
// failure, 2 on a usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// No heap profile is ever read from a daemon; without sampling the
	// runtime keeps no profile records (a stack per sampled allocation,
	// which pipelock's rule loading alone makes dozens of) and skips the
	// stack walk on every sampled allocation.
	runtime.MemProfileRate = 0
	// Once start-up is over (configuration read, listener open), hand the
	// garbage of package initialisation and config loading back to the
	// kernel: four of these processes idle in a bundle, and without this
	// each kept several MB of freed heap resident until the scavenger got
	// to it.
	go func() {
		time.Sleep(time.Second)
		debug.FreeOSMemory()
	}()
	err := Registry().Main(ctx, args, stdout, stderr)
	if err == nil {
		return 0
	}
	if gitgate.Silent(err) {
		return 1
	}
	fmt.Fprintf(stderr, "claude-bottle-sidecar: %v\n", err)
	var ue *sidecar.UsageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// Registry lists the daemons built in.
func Registry() *sidecar.Registry {
	return sidecar.NewRegistry(
		sidecar.Daemon{Name: contract.Egress, Run: egress.Run},
		sidecar.Daemon{Name: contract.Pipelock, Run: pipelock.Run},
		sidecar.Daemon{Name: contract.GitGate, Run: gitgate.Run},
		sidecar.Daemon{Name: contract.Supervise, Run: supervise.Run},
	)
}
