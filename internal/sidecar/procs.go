package sidecar

import (
	"os"
	"runtime"
)

// OneProc runs the calling daemon on one processor (GOMAXPROCS=1) unless
// GOMAXPROCS says otherwise. For the daemons that mostly wait — supervise
// and git-gate's server — a second processor buys nothing but a second set
// of per-processor allocation caches and more threads, all resident while
// the bottle idles (docs/operations.md, "Budgets": idle memory of the
// bundle). egress and pipelock keep every core (egress on one processor
// idled no smaller).
func OneProc() {
	if _, ok := os.LookupEnv("GOMAXPROCS"); !ok {
		runtime.GOMAXPROCS(1)
	}
}
