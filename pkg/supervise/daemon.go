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

	"github.com/claude-bottle/claude-bottle/pkg/approvals"
	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/sidecar"
)

// Run is `claude-bottle-sidecar supervise [--listen ADDR]`.
func Run(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := os.Getenv(names.SupervisePortEnv)
	if port == "" {
		port = fmt.Sprint(names.Port(names.Supervise))
	}
	listen := fs.String("listen", "127.0.0.1:"+port, "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	slug, dir := os.Getenv(names.SuperviseSlugEnv), os.Getenv(names.SuperviseQueueEnv)
	if slug == "" || dir == "" {
		return errors.New("supervise: " + names.SuperviseSlugEnv + " and " + names.SuperviseQueueEnv + " must be set (the renderer sets them)")
	}
	wait := 10 * time.Minute
	if v := os.Getenv(names.SuperviseWaitEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("supervise: %s=%q: want a duration such as 10m", names.SuperviseWaitEnv, v)
		}
		wait = d
	}
	egressURL := os.Getenv(names.SuperviseEgressURLEnv)
	if egressURL == "" {
		egressURL = names.URL(names.Egress)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil)).With("daemon", names.Supervise)
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
	return sidecar.ServeHTTP(ctx, names.Supervise, ln, s.Handler(), log)
}
