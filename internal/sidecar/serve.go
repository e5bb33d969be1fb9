package sidecar

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace bounds how long a daemon waits for requests in flight when
// it is told to stop (initd and the engine give it at least 10 s).
const ShutdownGrace = 5 * time.Second

// ServeHTTP serves handler on ln until ctx ends (then shuts down gracefully
// and returns nil) or serving fails. Every daemon uses the same timeouts
// and routes the server's own errors into its structured log.
func ServeHTTP(ctx context.Context, daemon string, ln net.Listener, handler http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: serve: %w", daemon, err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}
