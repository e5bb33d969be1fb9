package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/pipelock"
)

// BottleContainer is a running container of a bottle.
type BottleContainer struct {
	ID, Name, Role string
}

// BottleContainers lists the containers labelled with slug.
func (e *Engine) BottleContainers(ctx context.Context, slug string) ([]BottleContainer, error) {
	args := filters.NewArgs(filters.Arg("label", names.LabelSlug+"="+slug))
	cs, err := e.api.ContainerList(ctx, container.ListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", slug, err)
	}
	out := make([]BottleContainer, 0, len(cs))
	for _, c := range cs {
		name := ""
		if len(c.Names) > 0 {
			name = c.Names[0]
		}
		out = append(out, BottleContainer{ID: c.ID, Name: name, Role: c.Labels[names.LabelRole]})
	}
	return out, nil
}

// roleContainer finds the container that runs daemon: the bundle's
// sidecars container, or the daemon's own container in the legacy shape.
func (e *Engine) roleContainer(ctx context.Context, slug, daemon string) (BottleContainer, bool, error) {
	cs, err := e.BottleContainers(ctx, slug)
	if err != nil {
		return BottleContainer{}, false, err
	}
	for _, c := range cs {
		if c.Role == "sidecars" && daemon != "agent" {
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
func (e *Engine) Running(ctx context.Context, slug, daemon string) error {
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
func (e *Engine) ReloadPipelock(ctx context.Context, slug, configSum string) error {
	c, bundle, err := e.roleContainer(ctx, slug, names.Pipelock)
	if err != nil {
		return err
	}
	sig := "SIGHUP"
	if bundle {
		sig = "SIGUSR1"
	}
	name := strings.TrimPrefix(c.Name, "/")
	deadline := time.Now().Add(ReloadTimeout)
	var last string
	for attempt := 0; ; attempt++ {
		// The signal is sent again every 2 s: one that arrived while
		// pipelock was being restarted by initd (after a crash) is lost,
		// and a repeated reload of the same file is harmless.
		if attempt%10 == 0 {
			if err := e.api.ContainerKill(ctx, c.ID, sig); err != nil {
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
func (e *Engine) PipelockStatus(ctx context.Context, id string) (pipelock.Status, error) {
	out, code, err := e.Exec(ctx, id, "", []string{names.SidecarBinary, names.Pipelock, "status"})
	if err != nil {
		return pipelock.Status{}, fmt.Errorf("pipelock status: %w", err)
	}
	if code != 0 {
		return pipelock.Status{}, fmt.Errorf("pipelock status: exit code %d: %s", code, strings.TrimSpace(out))
	}
	var st pipelock.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return pipelock.Status{}, fmt.Errorf("pipelock status: %w: %q", err, out)
	}
	return st, nil
}

func (e *Engine) logsSince(ctx context.Context, id string, since time.Time) (string, error) {
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true}
	if !since.IsZero() {
		opts.Since = since.Format(time.RFC3339Nano)
	}
	rc, err := e.api.ContainerLogs(ctx, id, opts)
	if err != nil {
		return "", err
	}
	defer func() { _ = rc.Close() }()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, rc); err != nil {
		return "", err
	}
	return out.String() + errb.String(), nil
}

// ReloadEgress sends SIGHUP to egress (through initd in the bundle).
func (e *Engine) ReloadEgress(ctx context.Context, slug string) error {
	c, _, err := e.roleContainer(ctx, slug, names.Egress)
	if err != nil {
		return err
	}
	return e.api.ContainerKill(ctx, c.ID, "SIGHUP")
}

// Logs returns the whole stdout and stderr of a container (by name or id).
func (e *Engine) Logs(ctx context.Context, id string) (string, error) {
	return e.logsSince(ctx, id, time.Time{})
}
