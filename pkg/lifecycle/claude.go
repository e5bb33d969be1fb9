package lifecycle

import (
	"context"
	"fmt"

	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// LabelClaudeCode is the agent image label naming the Claude Code version
// installed in it ("none" when built without it).
const LabelClaudeCode = "dev.claude-bottle.claude-code"

// ClaudeCode says whether image has Claude Code and which version: from its
// label when it has one (claude-bottle's images), otherwise by looking for
// `claude` in a throwaway container with no network.
func (e *Backend) ClaudeCode(ctx context.Context, image string) (version string, ok bool, err error) {
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
	id, err := e.CreateContainer(ctx, engine.ContainerSpec{Image: image, User: "0", Entrypoint: []string{"sh", "-c", "command -v claude"}, NetworkMode: "none"})
	if err != nil {
		return "", false, fmt.Errorf("look for claude in %s: %w", image, err)
	}
	defer func() {
		_ = e.RemoveContainer(context.WithoutCancel(ctx), id, engine.RemoveContainerOptions{Force: true})
	}()
	if err := e.StartContainer(ctx, id); err != nil {
		return "", false, fmt.Errorf("look for claude in %s: %w", image, err)
	}
	code, err := e.WaitContainer(ctx, id)
	if err != nil {
		return "", false, fmt.Errorf("look for claude in %s: %w", image, err)
	}
	return "unknown (unlabelled image)", code == 0, nil
}
