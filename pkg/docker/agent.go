package docker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/claude-bottle/claude-bottle/pkg/capfile"
	"github.com/claude-bottle/claude-bottle/pkg/names"
)

// AgentImageRepo is the repository of the per-bottle agent images a
// capability approval builds; `down` removes them with the bottle.
func AgentImageRepo(slug string) string { return "claude-bottle-agent-" + slug }

// RebuildAgent approves a capability-block: it snapshots the running agent
// (its files, the bottle CA in its trust store and its git configuration
// included), runs dockerfile on the snapshot in a hardened build container
// on the bottle's network (see capabilityBuild; the engine's builder is never
// used, and dockerfile is checked again with capfile.Parse), and recreates
// the agent from the result with the same name, configuration, mounts,
// networks and aliases, plus the Dockerfile's ENV settings. When the build
// fails the running agent is untouched.
func (e *Engine) RebuildAgent(ctx context.Context, slug, dockerfile string) (before, after string, err error) {
	f, err := capfile.Parse(dockerfile)
	if err != nil {
		return "", "", err
	}
	name := names.AgentContainer(slug)
	old, err := e.api.ContainerInspect(ctx, name)
	if err != nil {
		return "", "", fmt.Errorf("bottle %s: inspect its agent: %w", slug, err)
	}
	if old.State == nil || !old.State.Running {
		return "", "", fmt.Errorf("bottle %s: its agent is not running", slug)
	}
	before = old.Config.Image
	stamp := time.Now().UTC().Format("20060102t150405")
	repo := AgentImageRepo(slug)
	labels := map[string]string{names.LabelSlug: slug}
	snap, err := e.api.ContainerCommit(ctx, old.ID, container.CommitOptions{
		Reference: repo + ":snapshot-" + stamp, Comment: "claude-bottle: agent snapshot before a capability rebuild",
		Config: &container.Config{Labels: labels}, Pause: true,
	})
	if err != nil {
		return "", "", fmt.Errorf("snapshot the agent: %w", err)
	}
	after = repo + ":" + stamp
	buildOut := &tailBuffer{max: capBuildLogMax}
	added, err := e.capabilityBuild(ctx, slug, snap.ID, after, f, buildOut)
	if err != nil {
		return "", "", fmt.Errorf("build the capability Dockerfile on the agent snapshot: %w\n%s", err, buildTail(buildOut.String(), 20))
	}

	// Recreate: same configuration, mounts and networks (the internal one
	// first, as up creates it), the new image.
	cfg := old.Config
	cfg.Image = after
	cfg.Env = withEnv(cfg.Env, added)
	internal := names.InternalNetwork(slug)
	var nets []attachment
	for n, ep := range old.NetworkSettings.Networks {
		var aliases []string
		for _, a := range ep.Aliases {
			if !strings.HasPrefix(old.ID, a) { // the engine adds the short id itself
				aliases = append(aliases, a)
			}
		}
		if n == internal {
			nets = append([]attachment{{network: n, aliases: aliases}}, nets...)
		} else {
			nets = append(nets, attachment{network: n, aliases: aliases})
		}
	}
	stop := 10
	if err := e.api.ContainerStop(ctx, old.ID, container.StopOptions{Timeout: &stop}); err != nil {
		return "", "", fmt.Errorf("stop the old agent: %w", err)
	}
	if err := e.api.ContainerRemove(ctx, old.ID, container.RemoveOptions{}); err != nil {
		return "", "", fmt.Errorf("remove the old agent: %w", err)
	}
	created, err := e.createOn(ctx, cfg, old.HostConfig, name, nets)
	if err != nil {
		return "", "", fmt.Errorf("recreate the agent from %s: %w (the snapshot %s keeps its files)", after, err, snap.ID)
	}
	if err := e.api.ContainerStart(ctx, created, container.StartOptions{}); err != nil {
		return "", "", fmt.Errorf("start the new agent: %w", err)
	}
	return before, after, nil
}

// withEnv returns env (KEY=value) with the settings of added applied in
// order, replacing a key's earlier value.
func withEnv(env, added []string) []string {
	out := slices.Clone(env)
	for _, a := range added {
		k, _, _ := strings.Cut(a, "=")
		out = slices.DeleteFunc(out, func(e string) bool { key, _, _ := strings.Cut(e, "="); return key == k })
		out = append(out, a)
	}
	return out
}

// buildTail is the last n lines of a build's output for an error message,
// with control characters (the output is the agent's) shown escaped.
func buildTail(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		q := strconv.Quote(strings.TrimRight(l, "\r"))
		lines[i] = "  | " + q[1:len(q)-1]
	}
	return strings.Join(lines, "\n")
}

// removeAgentImages removes the per-bottle agent images of slug.
func (e *Engine) removeAgentImages(ctx context.Context, slug string) error {
	imgs, err := e.api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", names.LabelSlug+"="+slug))})
	if err != nil {
		return err
	}
	for _, img := range imgs {
		for _, tag := range img.RepoTags {
			if strings.HasPrefix(tag, AgentImageRepo(slug)+":") {
				if _, err := e.api.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// RemoveImage removes an image by reference (tests and cleanup).
func (e *Engine) RemoveImage(ctx context.Context, ref string, opts image.RemoveOptions) error {
	_, err := e.api.ImageRemove(ctx, ref, opts)
	return err
}
