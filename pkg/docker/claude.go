package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// LabelClaudeCode is the agent image label naming the Claude Code version
// installed in it ("none" when built without it).
const LabelClaudeCode = "dev.claude-bottle.claude-code"

// ClaudeCode says whether image has Claude Code and which version: from its
// label when it has one (claude-bottle's images), otherwise by looking for
// `claude` in a throwaway container with no network.
func (e *Engine) ClaudeCode(ctx context.Context, image string) (version string, ok bool, err error) {
	labels, exists, err := e.ImageLabels(ctx, image)
	if err != nil {
		return "", false, err
	}
	if !exists {
		return "", false, fmt.Errorf("image %s is missing", image)
	}
	if v, labelled := labels[LabelClaudeCode]; labelled {
		return v, v != "" && v != "none", nil
	}
	created, err := e.api.ContainerCreate(ctx, &container.Config{Image: image, User: "0", Entrypoint: []string{"sh", "-c", "command -v claude"}},
		&container.HostConfig{NetworkMode: "none"}, &network.NetworkingConfig{}, nil, "")
	if err != nil {
		return "", false, fmt.Errorf("look for claude in %s: %w", image, err)
	}
	defer func() {
		_ = e.api.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
	}()
	if err := e.api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return "", false, fmt.Errorf("look for claude in %s: %w", image, err)
	}
	waitC, errC := e.api.ContainerWait(ctx, created.ID, container.WaitConditionNotRunning)
	select {
	case res := <-waitC:
		return "unknown (unlabelled image)", res.StatusCode == 0, nil
	case err := <-errC:
		return "", false, fmt.Errorf("look for claude in %s: %w", image, err)
	}
}
