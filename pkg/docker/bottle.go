package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

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
		if c.Role == "sidecars" {
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

// RestartPipelock makes pipelock reread its config: SIGUSR1 to the bundle
// (initd restarts pipelock alone) or a restart of the legacy container.
func (e *Engine) RestartPipelock(ctx context.Context, slug string) error {
	c, bundle, err := e.roleContainer(ctx, slug, names.Pipelock)
	if err != nil {
		return err
	}
	if bundle {
		return e.api.ContainerKill(ctx, c.ID, "SIGUSR1")
	}
	timeout := 10
	return e.api.ContainerRestart(ctx, c.ID, container.StopOptions{Timeout: &timeout})
}

// ReloadEgress sends SIGHUP to egress (through initd in the bundle).
func (e *Engine) ReloadEgress(ctx context.Context, slug string) error {
	c, _, err := e.roleContainer(ctx, slug, names.Egress)
	if err != nil {
		return err
	}
	return e.api.ContainerKill(ctx, c.ID, "SIGHUP")
}
