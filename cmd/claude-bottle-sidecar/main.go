// Command claude-bottle-sidecar is the multi-call binary of the sidecar
// daemons: `claude-bottle-sidecar <daemon> [flags]`. initd starts it once per
// selected daemon; the legacy shape runs it as each service's entrypoint.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/egress"
	"github.com/claude-bottle/claude-bottle/pkg/gitgate"
	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/pipelock"
	"github.com/claude-bottle/claude-bottle/pkg/sidecar"
	"github.com/claude-bottle/claude-bottle/pkg/supervise"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	// Once start-up is over (configuration read, listener open), hand the
	// garbage of package initialisation and config loading back to the
	// kernel: four of these processes idle in a bundle, and without this
	// each kept several MB of freed heap resident until the scavenger got
	// to it.
	go func() {
		time.Sleep(time.Second)
		debug.FreeOSMemory()
	}()
	err := registry().Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if gitgate.Silent(err) {
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "claude-bottle-sidecar: %v\n", err)
		var ue *sidecar.UsageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// registry lists the daemons built in. Each daemon is added by the change
// that implements it.
func registry() *sidecar.Registry {
	return sidecar.NewRegistry(
		sidecar.Daemon{Name: names.Egress, Run: egress.Run},
		sidecar.Daemon{Name: names.Pipelock, Run: pipelock.Run},
		sidecar.Daemon{Name: names.GitGate, Run: gitgate.Run},
		sidecar.Daemon{Name: names.Supervise, Run: supervise.Run},
	)
}
