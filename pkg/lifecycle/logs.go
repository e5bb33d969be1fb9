package lifecycle

import (
	"bufio"
	"context"
	"fmt"
	"sync"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// DaemonLogs passes every log line of the containers running egress and
// pipelock of slug to line (the bundle's sidecars container, or the two
// legacy containers), one call at a time. With follow it keeps reading
// until ctx ends.
func (e *Backend) DaemonLogs(ctx context.Context, slug string, follow bool, line func(string)) error {
	seen := map[string]bool{}
	var ids []string
	for _, d := range []string{contract.Egress, contract.Pipelock} {
		c, _, err := e.roleContainer(ctx, slug, d)
		if err != nil {
			return err
		}
		if !seen[c.ID] {
			seen[c.ID] = true
			ids = append(ids, c.ID)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		pr, err := e.LogStream(ctx, id, engine.LogOptions{Follow: follow})
		if err != nil {
			return fmt.Errorf("logs of %s: %w", slug, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				mu.Lock()
				line(sc.Text())
				mu.Unlock()
			}
			errs[i] = sc.Err()
			_ = pr.Close()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("logs of %s: %w", slug, err)
		}
	}
	return nil
}
