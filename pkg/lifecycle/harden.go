package lifecycle

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/pkg/engine"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// applyHardening carries a service's hardening from the compose model to
// the engine's host configuration, exactly as `docker compose` would:
// capabilities, read-only root, tmpfs mounts, sysctls and resource limits.
func applyHardening(hc *engine.ContainerSpec, s *compose.Service) {
	hc.CapDrop = s.CapDrop
	hc.CapAdd = s.CapAdd
	hc.ReadonlyRootfs = s.ReadOnly
	if len(s.Tmpfs) > 0 {
		hc.Tmpfs = map[string]string{}
		for _, t := range s.Tmpfs {
			path, opts, _ := strings.Cut(t, ":")
			hc.Tmpfs[path] = opts
		}
	}
	hc.Sysctls = s.Sysctls
	hc.Memory = s.MemLimit
	hc.MemorySwap = s.MemswapLimit
	if s.PidsLimit > 0 {
		pids := s.PidsLimit
		hc.PidsLimit = &pids
	}
	if cpus, err := strconv.ParseFloat(s.CPUs, 64); err == nil && cpus > 0 {
		hc.NanoCPUs = int64(cpus * 1e9)
	}
}

// agentUser makes sure the agent does not run as root: when its service
// names no user and its image's USER is root (or unset), the agent runs as
// compose.DefaultAgentUser, and the compose file in the state directory is
// rewritten to say so (it is what was brought up).
func (e *Backend) agentUser(ctx context.Context, plan *bottle.Plan, out io.Writer) error {
	s := plan.Project.Services[compose.AgentService]
	if s == nil || s.User != "" {
		return nil
	}
	info, err := e.InspectImage(ctx, s.Image)
	if err != nil {
		return fmt.Errorf("inspect the agent image %s: %w", s.Image, err)
	}
	if !IsRootUser(info.User) {
		return nil
	}
	s.User = compose.DefaultAgentUser
	data, err := plan.Project.YAML()
	if err != nil {
		return err
	}
	if err := statedir.WriteFileAtomic(plan.Layout.StateDir(plan.Slug), statedir.ComposeFile, data, statedir.PublicPerm); err != nil {
		return err
	}
	fmt.Fprintf(out, "the agent image %s runs as root; the agent runs as uid %s instead (give the image a USER to choose)\n", s.Image, compose.DefaultAgentUser)
	return nil
}

// IsRootUser reports whether an image or container USER runs as root:
// unset, "root" or uid 0, with any group.
func IsRootUser(user string) bool {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	return u == "" || u == "root" || strings.TrimLeft(u, "0") == ""
}
