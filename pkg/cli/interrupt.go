package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// afterFailedUp leaves nothing of a bottle whose up did not finish, and
// says so. Engine.Up has already removed its containers and networks and
// dumped their logs into compose.log. Interrupted (SIGINT, SIGTERM): the
// state directory and queue go too — the user asked to stop, nothing is
// left. Failed otherwise: only compose.log stays in the state directory,
// because it holds the daemons' own error messages; down or cleanup removes
// it.
func afterFailedUp(ctx context.Context, eng *lifecycle.Backend, layout statedir.Layout, slug string, upErr error, out io.Writer) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	interrupted := ctx.Err() != nil || errors.Is(upErr, context.Canceled)
	if interrupted {
		if err := eng.Down(cctx, layout, slug, false); err != nil {
			return fmt.Errorf("up of %s interrupted (%w); removing what it created failed: %w (claude-bottle down %s retries)", slug, upErr, err, slug)
		}
		fmt.Fprintf(out, "up of %s interrupted: its containers, networks and state directory are removed; nothing is left\n", slug)
		return fmt.Errorf("up of %s interrupted: %w", slug, upErr)
	}
	// Containers and networks are gone (Engine.Up's own clean-up); run it
	// again in case the failure was before Up started.
	if err := eng.Down(cctx, layout, slug, true); err != nil {
		return fmt.Errorf("%w; removing what up created failed too: %w (claude-bottle down %s retries)", upErr, err, slug)
	}
	logPath := filepath.Join(layout.StateDir(slug), statedir.ComposeLog)
	logs, rerr := os.ReadFile(logPath)
	if err := layout.Remove(slug); err != nil {
		return fmt.Errorf("%w; removing its state failed too: %w", upErr, err)
	}
	if rerr == nil && len(logs) > 0 {
		if err := os.MkdirAll(layout.StateDir(slug), statedir.DirPerm); err == nil {
			_ = statedir.WriteFileAtomic(layout.StateDir(slug), statedir.ComposeLog, logs, statedir.PrivatePerm)
		}
		fmt.Fprintf(out, "up of %s failed: containers and networks removed; only %s is kept (claude-bottle down %s removes it)\n", slug, logPath, slug)
	} else {
		fmt.Fprintf(out, "up of %s failed: nothing is left\n", slug)
	}
	return upErr
}
