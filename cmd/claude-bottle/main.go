// Command claude-bottle is the operator CLI: it renders, brings up, inspects
// and tears down bottles. All logic lives in pkg/cli.
//
// Invoked as "initd" or "claude-bottle-sidecar" (a copy or link of itself,
// as in the sidecars image an installed CLI builds), it is that program
// instead: one static binary provides everything the images need.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/claude-bottle/claude-bottle/pkg/cli"
	"github.com/claude-bottle/claude-bottle/pkg/daemons"
	"github.com/claude-bottle/claude-bottle/pkg/initd"
)

func main() {
	switch filepath.Base(os.Args[0]) {
	case "initd":
		// PID 1 of the bundle handles its own signals.
		os.Exit(initd.Main(context.Background(), os.Args[1:]))
	case "claude-bottle-sidecar":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		code := daemons.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.LookupEnv)
	stop()
	os.Exit(code)
}
