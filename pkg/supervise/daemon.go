package supervise

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/sidecar"
	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Run is `claude-bottle-sidecar supervise [--listen ADDR]`.
func Run(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := os.Getenv(contract.SupervisePortEnv)
	if port == "" {
		port = fmt.Sprint(contract.Port(contract.Supervise))
	}
	listen := fs.String("listen", "127.0.0.1:"+port, "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	slug, dir := os.Getenv(contract.SuperviseSlugEnv), os.Getenv(contract.SuperviseQueueEnv)
	if slug == "" || dir == "" {
		return errors.New("supervise: " + contract.SuperviseSlugEnv + " and " + contract.SuperviseQueueEnv + " must be set (the renderer sets them)")
	}
	wait := 10 * time.Minute
	if v := os.Getenv(contract.SuperviseWaitEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("supervise: %s=%q: want a duration such as 10m", contract.SuperviseWaitEnv, v)
		}
		wait = d
	}
	egressURL := os.Getenv(contract.SuperviseEgressURLEnv)
	if egressURL == "" {
		egressURL = contract.URL(contract.Egress)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("daemon", contract.Supervise)
	sidecar.OneProc()
	q := approvals.Queue{Dir: dir}
	if err := q.Ensure(); err != nil {
		return fmt.Errorf("supervise: %w", err)
	}
	s := New(Options{Slug: slug, Queue: q, Wait: wait, Allowlist: EgressAllowlist(egressURL), Logger: log})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("supervise: listen %s: %w", *listen, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "queue", dir)
	return sidecar.ServeHTTP(ctx, contract.Supervise, ln, s.Handler(), log)
}
