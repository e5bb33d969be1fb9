package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// ContainerSpec is a container to create: its configuration, its host
// configuration and the networks it joins.
type ContainerSpec struct {
	// Name is the container's name ("" lets the engine choose).
	Name       string
	Image      string
	Hostname   string
	User       string
	WorkingDir string
	Env        []string // KEY=value
	Entrypoint []string
	Cmd        []string
	Labels     map[string]string
	StopSignal string
	// StopTimeout is the grace period before SIGKILL (nil: the engine's).
	StopTimeout *int
	Healthcheck *Healthcheck

	Binds []string
	// Init runs an init process as PID 1 (nil: the engine's default).
	Init           *bool
	CapDrop        []string
	CapAdd         []string
	SecurityOpt    []string
	DNS            []string
	ReadonlyRootfs bool
	Tmpfs          map[string]string // path → mount options
	Sysctls        map[string]string
	Memory         int64
	MemorySwap     int64
	PidsLimit      *int64
	NanoCPUs       int64
	Runtime        string
	// RestartPolicy in compose's words: "no", "always", "unless-stopped",
	// "on-failure" or "on-failure:N" ("" = none).
	RestartPolicy string

	// Networks are joined in order; the first is the container's network
	// mode (API 1.41 attaches one network at creation, so the others are
	// connected before the container starts).
	Networks []Attachment
	// NetworkMode is used when Networks is empty (e.g. "none").
	NetworkMode string
}

// Attachment is one network a container joins, with its aliases there.
type Attachment struct {
	Network string
	Aliases []string
	// IPv4 pins the container's address on Network (its subnet must be
	// pinned too); "" lets the engine choose.
	IPv4 string
}

// Endpoint is a container's place on one network.
type Endpoint struct {
	IPv4    string
	Gateway string
}

// Healthcheck is a container's health command and its timing.
type Healthcheck struct {
	Test                           []string // e.g. ["CMD", "initd", "health"]
	Interval, Timeout, StartPeriod time.Duration
	Retries                        int
}

// CreateContainer creates a container from spec and returns its ID.
func (e *Engine) CreateContainer(ctx context.Context, spec ContainerSpec) (string, error) {
	cfg := &container.Config{
		Image: spec.Image, Hostname: spec.Hostname, User: spec.User, WorkingDir: spec.WorkingDir,
		Env: spec.Env, Entrypoint: spec.Entrypoint, Cmd: spec.Cmd, Labels: spec.Labels,
		StopSignal: spec.StopSignal, StopTimeout: spec.StopTimeout,
	}
	if h := spec.Healthcheck; h != nil {
		cfg.Healthcheck = &container.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	hc := &container.HostConfig{
		Binds: spec.Binds, Init: spec.Init, CapDrop: spec.CapDrop, CapAdd: spec.CapAdd, SecurityOpt: spec.SecurityOpt,
		DNS: spec.DNS, ReadonlyRootfs: spec.ReadonlyRootfs, Tmpfs: spec.Tmpfs, Sysctls: spec.Sysctls,
		RestartPolicy: restartPolicy(spec.RestartPolicy), Runtime: spec.Runtime,
	}
	hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.NanoCPUs = spec.Memory, spec.MemorySwap, spec.PidsLimit, spec.NanoCPUs
	nc := &network.NetworkingConfig{}
	if len(spec.Networks) > 0 {
		first := spec.Networks[0]
		hc.NetworkMode = container.NetworkMode(first.Network)
		nc.EndpointsConfig = map[string]*network.EndpointSettings{first.Network: endpoint(first)}
	} else {
		hc.NetworkMode = container.NetworkMode(spec.NetworkMode)
	}
	created, err := e.api.ContainerCreate(ctx, cfg, hc, nc, nil, spec.Name)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", spec.Name, err)
	}
	for _, n := range spec.Networks[min(1, len(spec.Networks)):] {
		if err := e.api.NetworkConnect(ctx, n.Network, created.ID, endpoint(n)); err != nil {
			return "", fmt.Errorf("connect %s to %s: %w", spec.Name, n.Network, err)
		}
	}
	return created.ID, nil
}

func endpoint(a Attachment) *network.EndpointSettings {
	ep := &network.EndpointSettings{Aliases: a.Aliases}
	if a.IPv4 != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: a.IPv4}
	}
	return ep
}

// restartPolicy turns compose's "no", "always", "unless-stopped" or
// "on-failure[:N]" into the engine's policy.
func restartPolicy(s string) container.RestartPolicy {
	name, n, _ := strings.Cut(s, ":")
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	if name == string(container.RestartPolicyOnFailure) && n != "" {
		p.MaximumRetryCount, _ = strconv.Atoi(n)
	}
	return p
}

// StartContainer starts a created container.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	return e.api.ContainerStart(ctx, id, container.StartOptions{})
}

// StopContainer stops a container, killing it after timeout seconds.
func (e *Engine) StopContainer(ctx context.Context, id string, timeout int) error {
	return e.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout})
}

// Signal sends signal (e.g. "SIGHUP") to a container's main process.
func (e *Engine) Signal(ctx context.Context, id, signal string) error {
	return e.api.ContainerKill(ctx, id, signal)
}

// RemoveContainerOptions say how RemoveContainer removes.
type RemoveContainerOptions struct {
	// Force kills a running container first.
	Force bool
	// Volumes removes its anonymous volumes too.
	Volumes bool
}

// RemoveContainer removes a container.
func (e *Engine) RemoveContainer(ctx context.Context, id string, opts RemoveContainerOptions) error {
	return e.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: opts.Force, RemoveVolumes: opts.Volumes})
}

// WaitContainer waits until a container is not running and returns its
// exit code.
func (e *Engine) WaitContainer(ctx context.Context, id string) (int64, error) {
	waitC, errC := e.api.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case res := <-waitC:
		return res.StatusCode, nil
	case err := <-errC:
		return -1, err
	}
}

// Container is a container as a listing shows it.
type Container struct {
	ID     string
	Name   string // without the engine's leading "/"
	State  string // running, exited, created, restarting, paused, dead
	Labels map[string]string
}

// ListContainers lists the containers carrying label (a key, or
// key=value); all includes those not running.
func (e *Engine) ListContainers(ctx context.Context, label string, all bool) ([]Container, error) {
	cs, err := e.api.ContainerList(ctx, container.ListOptions{All: all, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return nil, err
	}
	out := make([]Container, 0, len(cs))
	for _, c := range cs {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Container{ID: c.ID, Name: name, State: c.State, Labels: c.Labels})
	}
	return out, nil
}

// ContainerInfo is what inspecting a container tells.
type ContainerInfo struct {
	ID   string
	Name string // without the engine's leading "/"
	// HasState is false when the engine reported no state at all.
	HasState   bool
	Status     string // running, restarting, exited, created, dead, paused
	Running    bool
	Restarting bool
	ExitCode   int
	// RestartCount is how often the engine restarted it.
	RestartCount int
	// Health is the healthcheck status (healthy, unhealthy, starting;
	// "" without a healthcheck), HealthLog the output of its last probes,
	// oldest first.
	Health    string
	HealthLog []string
	// Endpoints maps each network the container is on to its address there.
	Endpoints map[string]Endpoint
	// Spec is the container's configuration as CreateContainer takes it,
	// its networks and aliases included (the alias the engine adds itself,
	// the short ID, left out): creating Spec again recreates it.
	Spec ContainerSpec
}

// InspectContainer inspects a container by ID or name.
func (e *Engine) InspectContainer(ctx context.Context, id string) (ContainerInfo, error) {
	info, err := e.api.ContainerInspect(ctx, id)
	if err != nil {
		return ContainerInfo{}, err
	}
	out := ContainerInfo{ID: info.ID, Name: strings.TrimPrefix(info.Name, "/"), RestartCount: info.RestartCount}
	if st := info.State; st != nil {
		out.HasState = true
		out.Status, out.Running, out.Restarting, out.ExitCode = st.Status, st.Running, st.Restarting, st.ExitCode
		if st.Health != nil {
			out.Health = st.Health.Status
			for _, l := range st.Health.Log {
				if l != nil {
					out.HealthLog = append(out.HealthLog, l.Output)
				}
			}
		}
	}
	s := &out.Spec
	s.Name = out.Name
	if c := info.Config; c != nil {
		s.Image, s.Hostname, s.User, s.WorkingDir = c.Image, c.Hostname, c.User, c.WorkingDir
		s.Env, s.Entrypoint, s.Cmd, s.Labels = c.Env, c.Entrypoint, c.Cmd, c.Labels
		s.StopSignal, s.StopTimeout = c.StopSignal, c.StopTimeout
		if h := c.Healthcheck; h != nil {
			s.Healthcheck = &Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		}
	}
	if hc := info.HostConfig; hc != nil {
		s.Binds, s.Init, s.CapDrop, s.CapAdd, s.SecurityOpt = hc.Binds, hc.Init, hc.CapDrop, hc.CapAdd, hc.SecurityOpt
		s.DNS, s.ReadonlyRootfs, s.Tmpfs, s.Sysctls = hc.DNS, hc.ReadonlyRootfs, hc.Tmpfs, hc.Sysctls
		s.Memory, s.MemorySwap, s.PidsLimit, s.NanoCPUs, s.Runtime = hc.Memory, hc.MemorySwap, hc.PidsLimit, hc.NanoCPUs, hc.Runtime
		s.RestartPolicy = string(hc.RestartPolicy.Name)
		if hc.RestartPolicy.Name == container.RestartPolicyOnFailure && hc.RestartPolicy.MaximumRetryCount > 0 {
			s.RestartPolicy += ":" + strconv.Itoa(hc.RestartPolicy.MaximumRetryCount)
		}
		s.NetworkMode = string(hc.NetworkMode)
	}
	if ns := info.NetworkSettings; ns != nil {
		for n, ep := range ns.Networks {
			var aliases []string
			if ep != nil {
				for _, a := range ep.Aliases {
					if !strings.HasPrefix(info.ID, a) { // the engine adds the short id itself
						aliases = append(aliases, a)
					}
				}
			}
			if ep != nil {
				if out.Endpoints == nil {
					out.Endpoints = map[string]Endpoint{}
				}
				out.Endpoints[n] = Endpoint{IPv4: ep.IPAddress, Gateway: ep.Gateway}
			}
			att := Attachment{Network: n, Aliases: aliases}
			if n == s.NetworkMode { // the network mode first, as it was created
				s.Networks = append([]Attachment{att}, s.Networks...)
			} else {
				s.Networks = append(s.Networks, att)
			}
		}
	}
	return out, nil
}

// CommitOptions describe the image a commit makes of a container.
type CommitOptions struct {
	// Reference tags the image ("repo:tag").
	Reference string
	Comment   string
	// Config, when set, is the image's configuration; otherwise the
	// container's.
	Config *ImageConfig
	// Pause freezes the container while it is committed.
	Pause bool
}

// ImageConfig is the configuration a committed image gets. A nil slice
// keeps the container's value; an empty one clears it.
type ImageConfig struct {
	User       string
	Env        []string
	WorkingDir string
	Entrypoint []string
	Cmd        []string
	StopSignal string
	Labels     map[string]string
}

// Commit makes an image of a container's filesystem and returns its ID.
func (e *Engine) Commit(ctx context.Context, id string, opts CommitOptions) (string, error) {
	co := container.CommitOptions{Reference: opts.Reference, Comment: opts.Comment, Pause: opts.Pause}
	if c := opts.Config; c != nil {
		co.Config = &container.Config{User: c.User, Env: c.Env, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint, Cmd: c.Cmd, StopSignal: c.StopSignal, Labels: c.Labels}
	}
	res, err := e.api.ContainerCommit(ctx, id, co)
	if err != nil {
		return "", err
	}
	return res.ID, nil
}
