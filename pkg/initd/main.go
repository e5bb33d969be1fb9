package initd

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Environment knobs of initd.
const (
	// SidecarBinEnv overrides the multi-call daemon binary (tests use fakes).
	SidecarBinEnv = "CLAUDE_BOTTLE_SIDECAR_BIN"
	// GraceEnv overrides the SIGTERM-to-SIGKILL grace (a Go duration, at
	// most 9s so initd stays inside compose's 10 s stop period).
	GraceEnv = "CLAUDE_BOTTLE_INITD_GRACE"
	// RestartsEnv overrides the restart policy: LIMIT/WINDOW[/BASE], e.g.
	// 5/60s/100ms (see DefaultRestart).
	RestartsEnv = "CLAUDE_BOTTLE_INITD_RESTARTS"
	// StatusEnv overrides the status socket (default DefaultStatusAddr).
	StatusEnv = "CLAUDE_BOTTLE_INITD_STATUS"
)

// DefaultStatusAddr is an abstract unix socket: private to the bundle's
// network namespace (the agent is never in it) and needing no writable
// file system; `initd health` reads it.
const DefaultStatusAddr = "@claude-bottle-initd"

// Main is initd's command line: PID 1 of the bundle, or `initd health`. It returns the
// exit code.
func Main(ctx context.Context, args []string) int {
	// initd waits on its children and copies their log lines: one
	// processor does that, and a second one's allocation caches and
	// threads would only stay resident while the bundle idles
	// (docs/operations.md, "Budgets": idle memory of the bundle).
	if _, ok := os.LookupEnv("GOMAXPROCS"); !ok {
		runtime.GOMAXPROCS(1)
	}
	daemons, err := Select(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[initd] %v\n", err)
		return 2
	}
	if len(args) > 0 {
		switch args[0] {
		case "health":
			return health(ctx, daemons, statusAddr())
		case "-h", "--help", "help":
			fmt.Println("usage: initd [health]\n\nRuns the daemons named in " + contract.DaemonsEnv +
				" (csv; unset = all, empty = none) and supervises them.\n`initd health` exits 0 when every selected daemon accepts connections.")
			return 0
		default:
			fmt.Fprintf(os.Stderr, "[initd] unknown argument %q (usage: initd [health])\n", args[0])
			return 2
		}
	}
	grace := DefaultGrace
	if v := os.Getenv(GraceEnv); v != "" {
		g, err := time.ParseDuration(v)
		if err != nil || g <= 0 || g > 9*time.Second {
			fmt.Fprintf(os.Stderr, "[initd] %s=%q: want a duration between 1ms and 9s, e.g. 8s\n", GraceEnv, v)
			return 2
		}
		grace = g
	}
	var policy RestartPolicy
	if v := os.Getenv(RestartsEnv); v != "" {
		if policy, err = ParseRestartPolicy(v); err != nil {
			fmt.Fprintf(os.Stderr, "[initd] %s: %v\n", RestartsEnv, err)
			return 2
		}
	}
	bin := os.Getenv(SidecarBinEnv)
	if bin == "" {
		bin = contract.SidecarBinary
	}
	return Run(ctx, Options{
		Daemons:    daemons,
		Grace:      grace,
		Restart:    policy,
		StatusAddr: statusAddr(),
		Command:    func(d string) []string { return append([]string{bin}, contract.BundleArgv(d)...) },
	})
}

func statusAddr() string {
	if v := os.Getenv(StatusEnv); v != "" {
		return v
	}
	return DefaultStatusAddr
}

// health is the healthcheck: when an initd answers on the status socket
// (the bundle), every daemon must be running by its account — a daemon it
// is restarting or gave up on makes the bundle unhealthy — and every port
// must accept connections. Its one-line summary (states and restart
// counts) is printed either way; the engine keeps it with the health log,
// where `claude-bottle ls` reads it. Without an initd (a legacy sidecar
// container) the ports decide.
func health(ctx context.Context, daemons []string, addr string) int {
	var problems []string
	if st, err := QueryStatus(ctx, addr); err == nil {
		fmt.Println("initd: " + st.Summary())
		problems = st.Problems()
	}
	if err := Health(ctx, "127.0.0.1", daemons); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "initd health: %s\n", strings.Join(problems, "; "))
		return 1
	}
	return 0
}
