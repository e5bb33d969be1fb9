package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/capfile"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
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
func (e *Backend) RebuildAgent(ctx context.Context, slug, dockerfile string) (before, after string, err error) {
	f, err := capfile.Parse(dockerfile)
	if err != nil {
		return "", "", err
	}
	name := contract.AgentContainer(slug)
	old, err := e.InspectContainer(ctx, name)
	if err != nil {
		return "", "", fmt.Errorf("bottle %s: inspect its agent: %w", slug, err)
	}
	if !old.Running {
		return "", "", fmt.Errorf("bottle %s: its agent is not running", slug)
	}
	before = old.Spec.Image
	stamp := time.Now().UTC().Format("20060102t150405")
	repo := AgentImageRepo(slug)
	labels := map[string]string{contract.LabelSlug: slug}
	snap, err := e.Commit(ctx, old.ID, engine.CommitOptions{
		Reference: repo + ":snapshot-" + stamp, Comment: "claude-bottle: agent snapshot before a capability rebuild",
		Config: &engine.ImageConfig{Labels: labels}, Pause: true,
	})
	if err != nil {
		return "", "", fmt.Errorf("snapshot the agent: %w", err)
	}
	after = repo + ":" + stamp
	buildOut := &tailBuffer{max: capBuildLogMax}
	added, err := e.capabilityBuild(ctx, slug, snap, after, f, buildOut)
	if err != nil {
		return "", "", fmt.Errorf("build the capability Dockerfile on the agent snapshot: %w\n%s", err, buildTail(buildOut.String(), 20))
	}

	// Recreate: same configuration, mounts and networks (the internal one
	// first, as up creates it), the new image.
	spec := old.Spec
	spec.Name = name
	spec.Image = after
	spec.Env = withEnv(spec.Env, added)
	internal := contract.InternalNetwork(slug)
	spec.Networks = slices.Clone(spec.Networks)
	if i := slices.IndexFunc(spec.Networks, func(a engine.Attachment) bool { return a.Network == internal }); i > 0 {
		a := spec.Networks[i]
		spec.Networks = append([]engine.Attachment{a}, slices.Delete(spec.Networks, i, i+1)...)
	}
	if err := e.StopContainer(ctx, old.ID, 10); err != nil {
		return "", "", fmt.Errorf("stop the old agent: %w", err)
	}
	if err := e.RemoveContainer(ctx, old.ID, engine.RemoveContainerOptions{}); err != nil {
		return "", "", fmt.Errorf("remove the old agent: %w", err)
	}
	created, err := e.CreateContainer(ctx, spec)
	if err != nil {
		return "", "", fmt.Errorf("recreate the agent from %s: %w (the snapshot %s keeps its files)", after, err, snap)
	}
	if err := e.StartContainer(ctx, created); err != nil {
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
func (e *Backend) removeAgentImages(ctx context.Context, slug string) error {
	imgs, err := e.ListImages(ctx, contract.LabelSlug+"="+slug)
	if err != nil {
		return err
	}
	for _, img := range imgs {
		for _, tag := range img.Tags {
			if strings.HasPrefix(tag, AgentImageRepo(slug)+":") {
				if err := e.RemoveImage(ctx, tag, engine.RemoveImageOptions{PruneChildren: true}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
