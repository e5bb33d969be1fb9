package docker

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/claude-bottle/claude-bottle/pkg/names"
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

// RestartPipelock makes pipelock reread its config: SIGUSR1 to the bundle
// (initd restarts pipelock alone) or a restart of the legacy container. It
// returns once the restarted pipelock logs that it is listening again (it
// reads its config before it listens), or fails after 30 s.
func (e *Engine) RestartPipelock(ctx context.Context, slug string) error {
	c, bundle, err := e.roleContainer(ctx, slug, names.Pipelock)
	if err != nil {
		return err
	}
	since := time.Now().Add(-time.Second)
	if bundle {
		err = e.api.ContainerKill(ctx, c.ID, "SIGUSR1")
	} else {
		timeout := 10
		err = e.api.ContainerRestart(ctx, c.ID, container.StopOptions{Timeout: &timeout})
	}
	if err != nil {
		return fmt.Errorf("restart pipelock of %s: %w", slug, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		logs, err := e.logsSince(ctx, c.ID, since)
		if err == nil && pipelockListening(logs) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("pipelock of %s did not come back within 30 s (docker logs %s)", slug, strings.TrimPrefix(c.Name, "/"))
}

func pipelockListening(logs string) bool {
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"daemon":"pipelock"`) && strings.Contains(line, `"msg":"listening"`) {
			return true
		}
	}
	return false
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
