// Command initd is PID 1 of the claude-bottle sidecar bundle: it runs the
// daemons selected by CLAUDE_BOTTLE_SIDECAR_DAEMONS, and `initd health` is
// the compose healthcheck. All logic lives in pkg/initd.
package main

import (
	"context"
	"os"

	"github.com/claude-bottle/claude-bottle/pkg/initd"
)

func main() {
	os.Exit(initd.Main(context.Background(), os.Args[1:]))
}
