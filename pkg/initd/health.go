package initd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// HealthTimeout bounds each connection attempt of Health.
const HealthTimeout = time.Second

// Health checks that every daemon accepts TCP connections on its port at
// host (127.0.0.1 inside the container). It reports every daemon that does
// not; none selected is healthy (initd idles).
func Health(ctx context.Context, host string, daemons []string) error {
	var errs []error
	d := net.Dialer{Timeout: HealthTimeout}
	for _, daemon := range daemons {
		addr := net.JoinHostPort(host, strconv.Itoa(contract.Port(daemon)))
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", daemon, addr, err))
			continue
		}
		_ = c.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	return nil
}
