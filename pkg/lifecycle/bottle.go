package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// BottleContainer is a running container of a bottle.
type BottleContainer struct {
	ID, Name, Role string
}

// BottleContainers lists the containers labelled with slug.
func (e *Backend) BottleContainers(ctx context.Context, slug string) ([]BottleContainer, error) {
	cs, err := e.ListContainers(ctx, contract.LabelSlug+"="+slug, false)
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", slug, err)
	}
	out := make([]BottleContainer, 0, len(cs))
	for _, c := range cs {
		out = append(out, BottleContainer{ID: c.ID, Name: c.Name, Role: c.Labels[contract.LabelRole]})
	}
	return out, nil
}

// roleContainer finds the container that runs daemon: the bundle's
// sidecars container, or the daemon's own container in the legacy shape.
func (e *Backend) roleContainer(ctx context.Context, slug, daemon string) (BottleContainer, bool, error) {
	cs, err := e.BottleContainers(ctx, slug)
	if err != nil {
		return BottleContainer{}, false, err
	}
	for _, c := range cs {
		if c.Role == contract.RoleSidecars && daemon != contract.RoleAgent {
			return c, true, nil
		}
	}
	for _, c := range cs {
		if c.Role == daemon {
			return c, false, nil
		}
	}
	return BottleContainer{}, false, fmt.Errorf("bottle %s has no running %s (is it up? claude-bottle ls)", slug, daemon)
}

// Running checks that the container running daemon for slug is up.
func (e *Backend) Running(ctx context.Context, slug, daemon string) error {
	_, _, err := e.roleContainer(ctx, slug, daemon)
	return err
}

// ReloadTimeout bounds how long ReloadPipelock waits for the new
// configuration to serve.
const ReloadTimeout = 30 * time.Second

// ErrReloadRefused is returned when pipelock read the new file and refused
// it (its previous configuration keeps serving).
var ErrReloadRefused = errors.New("pipelock refused the new configuration")

// ReloadPipelock makes pipelock reload pipelock.yaml in place — SIGUSR1 to
// the bundle (initd passes it on to pipelock as SIGHUP), SIGHUP to the
// legacy pipelock container — and returns once pipelock reports, on its
// control socket, that the configuration with SHA-256 configSum serves.
// A pipelock that read the file and refused it (ErrReloadRefused, with its
// reason) or that does not confirm within ReloadTimeout is an error; no
// log text is interpreted. Requests in flight are not interrupted.
func (e *Backend) ReloadPipelock(ctx context.Context, slug, configSum string) error {
	c, bundle, err := e.roleContainer(ctx, slug, contract.Pipelock)
	if err != nil {
		return err
	}
	sig := "SIGHUP"
	if bundle {
		sig = "SIGUSR1"
	}
	name := c.Name
	deadline := time.Now().Add(ReloadTimeout)
	var last string
	for attempt := 0; ; attempt++ {
		// The signal is sent again every 2 s: one that arrived while
		// pipelock was being restarted by initd (after a crash) is lost,
		// and a repeated reload of the same file is harmless.
		if attempt%10 == 0 {
			if err := e.Signal(ctx, c.ID, sig); err != nil {
				return fmt.Errorf("reload pipelock of %s: %w", slug, err)
			}
		}
		st, err := e.PipelockStatus(ctx, c.ID)
		switch {
		case err != nil:
			last = err.Error()
		case st.ConfigSHA256 == configSum:
			return nil
		case st.LastErrorSHA256 == configSum:
			return fmt.Errorf("%w (the previous configuration, generation %d, keeps serving): %s", ErrReloadRefused, st.Generation, st.LastError)
		default:
			last = fmt.Sprintf("generation %d serves config %.12s, waiting for %.12s", st.Generation, st.ConfigSHA256, configSum)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pipelock of %s did not confirm the new configuration within %s (%s; docker logs %s)", slug, ReloadTimeout, last, name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// PipelockStatus asks the pipelock in container id which configuration
// serves, through its control socket (docker exec of the sidecar binary:
// the socket lives in the container's network namespace only).
func (e *Backend) PipelockStatus(ctx context.Context, id string) (contract.PipelockStatus, error) {
	out, code, err := e.Exec(ctx, id, "", []string{contract.SidecarBinary, contract.Pipelock, "status"})
	if err != nil {
		return contract.PipelockStatus{}, fmt.Errorf("pipelock status: %w", err)
	}
	if code != 0 {
		return contract.PipelockStatus{}, fmt.Errorf("pipelock status: exit code %d: %s", code, strings.TrimSpace(out))
	}
	var st contract.PipelockStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return contract.PipelockStatus{}, fmt.Errorf("pipelock status: %w: %q", err, out)
	}
	return st, nil
}

// ReloadEgress sends SIGHUP to egress (through initd in the bundle).
func (e *Backend) ReloadEgress(ctx context.Context, slug string) error {
	c, _, err := e.roleContainer(ctx, slug, contract.Egress)
	if err != nil {
		return err
	}
	return e.Signal(ctx, c.ID, "SIGHUP")
}
