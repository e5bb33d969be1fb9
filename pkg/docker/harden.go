package docker

import (
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
)

// applyHardening carries a service's hardening from the compose model to
// the engine's host configuration, exactly as `docker compose` would:
// capabilities, read-only root, tmpfs mounts, sysctls and resource limits.
func applyHardening(hc *container.HostConfig, s *compose.Service) {
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
