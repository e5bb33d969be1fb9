// Command initd is PID 1 of the claude-bottle sidecar bundle: it runs the
// daemons selected by CLAUDE_BOTTLE_SIDECAR_DAEMONS (see pkg/supervisor), and
// `initd health` is the compose healthcheck. All logic lives in pkg/initcmd.
package main

import (
	"context"
	"os"

	"github.com/claude-bottle/claude-bottle/pkg/initcmd"
)

func main() {
	os.Exit(initcmd.Run(context.Background(), os.Args[1:]))
}
