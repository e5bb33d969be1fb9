// Package initcmd is initd's command line: PID 1 of the claude-bottle
// sidecar bundle runs the daemons selected by CLAUDE_BOTTLE_SIDECAR_DAEMONS
// (see pkg/supervisor), and `initd health` is the compose healthcheck.
// initd/main.go is its thin main; the claude-bottle CLI runs it too when
// invoked as "initd" (an installed CLI is the sidecars image's binaries).
package initcmd

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/supervisor"
)

// Environment knobs of initd.
const (
	// SidecarBinEnv overrides the multi-call daemon binary (tests use fakes).
	SidecarBinEnv = "CLAUDE_BOTTLE_SIDECAR_BIN"
	// GraceEnv overrides the SIGTERM-to-SIGKILL grace (a Go duration, at
	// most 9s so initd stays inside compose's 10 s stop period).
	GraceEnv = "CLAUDE_BOTTLE_INITD_GRACE"
)

// Run is initd: PID 1 of the bundle, or `initd health`. It returns the
// exit code.
func Run(ctx context.Context, args []string) int {
	daemons, err := supervisor.Select(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[initd] %v\n", err)
		return 2
	}
	if len(args) > 0 {
		switch args[0] {
		case "health":
			if err := supervisor.Health(ctx, "127.0.0.1", daemons); err != nil {
				fmt.Fprintf(os.Stderr, "initd health: %v\n", err)
				return 1
			}
			return 0
		case "-h", "--help", "help":
			fmt.Println("usage: initd [health]\n\nRuns the daemons named in " + names.DaemonsEnv +
				" (csv; unset = all, empty = none) and supervises them.\n`initd health` exits 0 when every selected daemon accepts connections.")
			return 0
		default:
			fmt.Fprintf(os.Stderr, "[initd] unknown argument %q (usage: initd [health])\n", args[0])
			return 2
		}
	}
	grace := supervisor.DefaultGrace
	if v := os.Getenv(GraceEnv); v != "" {
		g, err := time.ParseDuration(v)
		if err != nil || g <= 0 || g > 9*time.Second {
			fmt.Fprintf(os.Stderr, "[initd] %s=%q: want a duration between 1ms and 9s, e.g. 8s\n", GraceEnv, v)
			return 2
		}
		grace = g
	}
	bin := os.Getenv(SidecarBinEnv)
	if bin == "" {
		bin = names.SidecarBinary
	}
	return supervisor.Run(ctx, supervisor.Options{
		Daemons: daemons,
		Grace:   grace,
		Command: func(d string) []string { return append([]string{bin}, names.BundleArgv(d)...) },
	})
}
