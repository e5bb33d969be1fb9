// Command claude-bottle-sidecar is the multi-call binary of the sidecar
// daemons: `claude-bottle-sidecar <daemon> [flags]`. initd starts it once per
// selected daemon; the legacy shape runs it as each service's entrypoint.
// All logic lives in pkg/daemons.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/claude-bottle/claude-bottle/pkg/daemons"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := daemons.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
