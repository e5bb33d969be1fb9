// Package compose renders a bottle into a Compose project: one typed model,
// built for either shape (legacy: agent + one service per daemon; bundle:
// agent + one sidecars service under initd) and written as YAML that is
// exactly what gets brought up. The agent's service is identical in both
// shapes in every address it dials.
package compose

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Service and network keys of the project.
const (
	AgentService    = contract.RoleAgent
	SidecarsService = contract.RoleSidecars
	InternalNet     = "internal"
	EgressNet       = "egress"
	// HopNet (legacy shape only) carries egress → pipelock: a private
	// internal network the agent is never on, so neither pipelock's proxy
	// credential nor the credentials egress injects cross a network where
	// the agent could sniff or spoof them.
	HopNet = "hop"
)

// StopGracePeriod gives initd's 8 s shutdown grace room inside compose's stop.
const StopGracePeriod = "10s"

// Project is a Compose project.
type Project struct {
	Name     string              `yaml:"name"`
	Services map[string]*Service `yaml:"services"`
	Networks map[string]*Network `yaml:"networks"`
}

// Service is one Compose service.
type Service struct {
	Image         string                     `yaml:"image"`
	ContainerName string                     `yaml:"container_name"`
	Hostname      string                     `yaml:"hostname,omitempty"`
	User          string                     `yaml:"user,omitempty"`
	Entrypoint    []string                   `yaml:"entrypoint,omitempty"`
	Command       []string                   `yaml:"command,omitempty"`
	Init          bool                       `yaml:"init,omitempty"`
	Environment   []string                   `yaml:"environment,omitempty"`
	Volumes       []Volume                   `yaml:"volumes,omitempty"`
	Networks      map[string]*ServiceNetwork `yaml:"networks"`
	DependsOn     map[string]Dependency      `yaml:"depends_on,omitempty"`
	Healthcheck   *Healthcheck               `yaml:"healthcheck,omitempty"`
	CapDrop       []string                   `yaml:"cap_drop,omitempty"`
	CapAdd        []string                   `yaml:"cap_add,omitempty"`
	SecurityOpt   []string                   `yaml:"security_opt,omitempty"`
	ReadOnly      bool                       `yaml:"read_only,omitempty"`
	Tmpfs         []string                   `yaml:"tmpfs,omitempty"`
	Sysctls       map[string]string          `yaml:"sysctls,omitempty"`
	// MemLimit and MemswapLimit are bytes; equal values mean no swap.
	MemLimit     int64  `yaml:"mem_limit,omitempty"`
	MemswapLimit int64  `yaml:"memswap_limit,omitempty"`
	PidsLimit    int64  `yaml:"pids_limit,omitempty"`
	CPUs         string `yaml:"cpus,omitempty"`
	// DNS overrides the resolvers the engine's embedded DNS forwards
	// outside names to: AgentDNS for the agent; unset for the sidecars
	// (tests point them at a stand-in resolver).
	DNS             []string          `yaml:"dns,omitempty"`
	Labels          map[string]string `yaml:"labels"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
	// Restart is the engine's restart policy (see RestartAlways and
	// RestartSidecar for why each service gets which).
	Restart string `yaml:"restart,omitempty"`
}

// Restart policies. The agent and the bundle come back after an engine
// restart (unless-stopped; the bundle's initd restarts its daemons itself
// and gives up on a crash loop without exiting, so the engine never loops
// it). A legacy sidecar is its daemon: on-failure with a limit restarts a
// crash a few times with the engine's back-off and then leaves it down,
// reported by claude-bottle ls, rather than restarting it forever.
const (
	RestartAlways  = "unless-stopped"
	RestartSidecar = "on-failure:5"
)

// Volume is a bind mount (long syntax).
type Volume struct {
	Type     string `yaml:"type"`
	Source   string `yaml:"source"`
	Target   string `yaml:"target"`
	ReadOnly bool   `yaml:"read_only,omitempty"`
}

// Bind is the volume as an engine bind ("source:target[:ro]").
func (v Volume) Bind() string {
	b := v.Source + ":" + v.Target
	if v.ReadOnly {
		b += ":ro"
	}
	return b
}

// ServiceNetwork is a service's attachment to a network.
type ServiceNetwork struct {
	Aliases []string `yaml:"aliases,omitempty"`
}

// Dependency is a depends_on entry.
type Dependency struct {
	Condition string `yaml:"condition"`
}

// Healthcheck is a service healthcheck.
type Healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}

// Network is a Compose network.
type Network struct {
	Name     string `yaml:"name"`
	Driver   string `yaml:"driver"`
	Internal bool   `yaml:"internal,omitempty"`
	// EnableIPv6 is always written, false: a bottle filters IPv4 only, so
	// its networks carry no IPv6 whatever the daemon's default.
	EnableIPv6 bool              `yaml:"enable_ipv6"`
	DriverOpts map[string]string `yaml:"driver_opts,omitempty"`
	// IPAM pins the network's subnet (never set by Build: the engine picks
	// one; tests pin it to place stand-ins at known addresses).
	IPAM   *IPAM             `yaml:"ipam,omitempty"`
	Labels map[string]string `yaml:"labels"`
}

// IPAM is a network's address management block.
type IPAM struct {
	Config []IPAMPool `yaml:"config"`
}

// IPAMPool is one subnet of a network.
type IPAMPool struct {
	Subnet string `yaml:"subnet"`
}

// Options are the inputs of Build.
type Options struct {
	Bottle *manifest.Resolved
	Slug   string
	Shape  contract.Shape
	// SidecarImage defaults to contract.DefaultSidecarImage.
	SidecarImage string
	// Layout locates the state directories that are mounted.
	Layout statedir.Layout
	// User is the uid:gid the sidecars run as: the operator's, so that the
	// private (0700/0600) state directories they mount are readable without
	// root. Empty leaves the image's default (an unprivileged uid).
	User string
}

// Agent-side constants.
const (
	// AgentCAFile is where the agent finds the bottle CA certificate.
	AgentCAFile = contract.AgentCAMount + "/ca.pem"
	// SystemCABundle is the agent's system trust store once the bottle CA
	// has been installed into it at bring-up.
	SystemCABundle = "/etc/ssl/certs/ca-certificates.crt"
	// NoProxy lists what the agent reaches without egress: loopback and the
	// two daemons it talks to directly on the internal network.
	NoProxy = "localhost,127.0.0.1,::1,supervise,git-gate"
)

// OperatorUser returns "uid:gid" of the current process, the User the
// sidecars of a bottle brought up by this process run as.
func OperatorUser() string { return strconv.Itoa(os.Getuid()) + ":" + strconv.Itoa(os.Getgid()) }

// Daemons returns the daemons a bottle runs, in canonical order: egress and
// pipelock always, git-gate when repos are declared, supervise when enabled.
func Daemons(m *manifest.Manifest) []string {
	out := []string{contract.Egress, contract.Pipelock}
	if len(m.Git.Repos) > 0 {
		out = append(out, contract.GitGate)
	}
	if m.SuperviseEnabled() {
		out = append(out, contract.Supervise)
	}
	return out
}

// Build makes the project of a bottle for the chosen shape.
func Build(opts Options) (*Project, error) {
	if opts.Bottle == nil {
		return nil, errors.New("compose: no bottle")
	}
	if err := contract.ValidateSlug(opts.Slug); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	if opts.Layout.Home == "" {
		return nil, errors.New("compose: no state layout")
	}
	if opts.SidecarImage == "" {
		opts.SidecarImage = contract.DefaultSidecarImage
	}
	switch opts.Shape {
	case contract.Legacy, contract.Bundle:
	default:
		return nil, fmt.Errorf("compose: unknown shape %q", opts.Shape)
	}
	slug := opts.Slug
	daemons := Daemons(opts.Bottle.Manifest)
	p := &Project{
		Name:     contract.Project(slug),
		Services: map[string]*Service{},
		Networks: map[string]*Network{
			InternalNet: {
				Name:     contract.InternalNetwork(slug),
				Driver:   "bridge",
				Internal: true,
				// Without inhibit_ipv4 the bridge carries a host address and
				// an agent on an "internal" network reaches every host port.
				DriverOpts: map[string]string{contract.InhibitIPv4: "true"},
				Labels:     labels(slug, ""),
			},
			EgressNet: {
				Name:   contract.EgressNetwork(slug),
				Driver: "bridge",
				Labels: labels(slug, ""),
			},
		},
	}

	var sidecarDeps []string
	if opts.Shape == contract.Legacy {
		p.Networks[HopNet] = &Network{
			Name:       contract.HopNetwork(slug),
			Driver:     "bridge",
			Internal:   true,
			DriverOpts: map[string]string{contract.InhibitIPv4: "true"},
			Labels:     labels(slug, ""),
		}
		for _, d := range daemons {
			p.Services[d] = legacyService(opts, d)
			sidecarDeps = append(sidecarDeps, d)
		}
	} else {
		p.Services[SidecarsService] = bundleService(opts, daemons)
		sidecarDeps = []string{SidecarsService}
	}
	p.Services[AgentService] = agentService(opts, sidecarDeps)
	return p, nil
}

func labels(slug, role string) map[string]string {
	l := map[string]string{contract.LabelSlug: slug}
	if role != "" {
		l[contract.LabelRole] = role
	}
	return l
}

func agentService(opts Options, deps []string) *Service {
	slug := opts.Slug
	proxy := contract.URL(contract.Egress)
	env := map[string]string{
		"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy,
		"NO_PROXY": NoProxy, "no_proxy": NoProxy,
		"NODE_EXTRA_CA_CERTS": AgentCAFile,
		"SSL_CERT_FILE":       SystemCABundle,
		"REQUESTS_CA_BUNDLE":  SystemCABundle,
		"GIT_SSL_CAINFO":      SystemCABundle,
		"CLAUDE_BOTTLE":       "1",
		"CLAUDE_BOTTLE_SLUG":  slug,
	}
	for k, v := range opts.Bottle.AgentEnv {
		env[k] = v
	}
	dependsOn := map[string]Dependency{}
	for _, d := range deps {
		dependsOn[d] = Dependency{Condition: "service_healthy"}
	}
	s := &Service{
		Image:         opts.Bottle.Image,
		ContainerName: contract.AgentContainer(slug),
		Hostname:      opts.Bottle.Name,
		Command:       []string{"sleep", "infinity"},
		Init:          true,
		Environment:   envList(env),
		Volumes: []Volume{
			{Type: "bind", Source: opts.Layout.AgentCADir(slug), Target: contract.AgentCAMount, ReadOnly: true},
		},
		Networks:        map[string]*ServiceNetwork{InternalNet: {}},
		DependsOn:       dependsOn,
		Labels:          labels(slug, contract.RoleAgent),
		StopGracePeriod: StopGracePeriod,
		Restart:         RestartAlways,
	}
	hardenAgent(s, opts)
	return s
}

// daemonEnv is the private environment of one daemon. Values of
// EGRESS_TOKEN_<n> are not rendered: the entry names the variable, and
// compose takes its value from the environment of the process bringing the
// bottle up, so credentials are never written to disk.
func daemonEnv(opts Options, daemon string) map[string]*string {
	env := map[string]*string{}
	set := func(k, v string) { env[k] = &v }
	switch daemon {
	case contract.Egress:
		upstream := "http://" + contract.Pipelock + ":" + strconv.Itoa(contract.Port(contract.Pipelock))
		if opts.Shape == contract.Bundle {
			upstream = "http://127.0.0.1:" + strconv.Itoa(contract.Port(contract.Pipelock))
		}
		set(contract.EgressUpstreamEnv, upstream)
		for _, t := range opts.Bottle.Tokens {
			env[t.Slot] = nil
		}
	case contract.Supervise:
		set(contract.SuperviseSlugEnv, opts.Slug)
		set(contract.SuperviseQueueEnv, contract.QueueMount)
		set(contract.SupervisePortEnv, strconv.Itoa(contract.Port(contract.Supervise)))
		if w := opts.Bottle.Supervise.Wait; w != "" {
			set(contract.SuperviseWaitEnv, w) // [supervise] wait
		}
	}
	return env
}

// daemonVolumes are the mounts of one daemon, at the same in-container paths
// in both shapes: its state directory, read-only (supervise has none: it
// reads only its environment), and supervise's queue.
func daemonVolumes(opts Options, daemon string) []Volume {
	if daemon == contract.Supervise {
		return []Volume{{Type: "bind", Source: opts.Layout.QueueDir(opts.Slug), Target: contract.QueueMount}}
	}
	v := []Volume{{Type: "bind", Source: opts.Layout.DaemonDir(opts.Slug, daemon), Target: contract.ConfigDir(daemon), ReadOnly: true}}
	if daemon == contract.GitGate && hasWorkspace(opts) {
		v = append(v, workspaceVolume(opts))
	}
	return v
}

// daemonNeedsEgressNet says which daemons reach out: pipelock and git-gate.
func daemonNeedsEgressNet(daemon string) bool {
	return daemon == contract.Pipelock || daemon == contract.GitGate
}

// agentFacing says whether the agent may reach a daemon: every one but
// pipelock, which serves egress alone (legacy: on the hop network; bundle:
// on loopback) and so has no alias where the agent could look it up.
func agentFacing(daemon string) bool { return daemon != contract.Pipelock }

// legacyNetworks are the networks of one legacy daemon: the internal one
// (with its aliases) for the daemons the agent talks to, the hop network
// for egress and pipelock, the egress network for those that reach out.
func legacyNetworks(daemon, slug string) map[string]*ServiceNetwork {
	nets := map[string]*ServiceNetwork{}
	if agentFacing(daemon) {
		nets[InternalNet] = &ServiceNetwork{Aliases: aliases(daemon, slug)}
	}
	switch daemon {
	case contract.Egress:
		nets[HopNet] = &ServiceNetwork{}
	case contract.Pipelock:
		nets[HopNet] = &ServiceNetwork{Aliases: aliases(daemon, slug)}
	}
	if daemonNeedsEgressNet(daemon) {
		nets[EgressNet] = &ServiceNetwork{}
	}
	return nets
}

func aliases(daemon, slug string) []string {
	return []string{daemon, contract.SidecarContainer(daemon, slug)}
}

func healthcheck() *Healthcheck {
	// initd health dials every selected daemon's port; a 1 s interval keeps
	// bottle readiness close to daemon readiness.
	return &Healthcheck{
		Test:        []string{"CMD", contract.InitdBinary, "health"},
		Interval:    "1s",
		Timeout:     "3s",
		Retries:     30,
		StartPeriod: "30s",
	}
}

func legacyService(opts Options, daemon string) *Service {
	env := daemonEnv(opts, daemon)
	v := daemon
	env[contract.DaemonsEnv] = &v // read by `initd health`
	s := &Service{
		Image:           opts.SidecarImage,
		ContainerName:   contract.SidecarContainer(daemon, opts.Slug),
		User:            opts.User,
		Entrypoint:      []string{contract.SidecarBinary},
		Command:         contract.Argv(daemon),
		Init:            true, // tini reaps the git and ssh children of git-gate
		Environment:     envPtrList(env),
		Volumes:         daemonVolumes(opts, daemon),
		Networks:        legacyNetworks(daemon, opts.Slug),
		Healthcheck:     healthcheck(),
		Labels:          labels(opts.Slug, daemon),
		StopGracePeriod: StopGracePeriod,
		Restart:         RestartSidecar,
	}
	hardenSidecar(s, legacyMemory(daemon))
	return s
}

func bundleService(opts Options, daemons []string) *Service {
	env := map[string]*string{}
	var vols []Volume
	var internalAliases []string
	for _, d := range daemons {
		for k, v := range daemonEnv(opts, d) {
			env[k] = v
		}
		vols = append(vols, daemonVolumes(opts, d)...)
		if agentFacing(d) {
			internalAliases = append(internalAliases, aliases(d, opts.Slug)...)
		}
	}
	csv := strings.Join(daemons, ",")
	env[contract.DaemonsEnv] = &csv
	s := &Service{
		Image:         opts.SidecarImage,
		ContainerName: contract.BundleContainer(opts.Slug),
		User:          opts.User,
		Environment:   envPtrList(env),
		Volumes:       vols,
		Networks: map[string]*ServiceNetwork{
			InternalNet: {Aliases: internalAliases},
			EgressNet:   {},
		},
		Healthcheck:     healthcheck(),
		Labels:          labels(opts.Slug, contract.RoleSidecars),
		StopGracePeriod: StopGracePeriod,
		Restart:         RestartAlways,
	}
	hardenSidecar(s, bundleMemory)
	return s
}

// escape doubles "$" so compose's interpolation leaves values verbatim.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+escape(v))
	}
	slices.Sort(out)
	return out
}

func envPtrList(env map[string]*string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v == nil {
			out = append(out, k) // value from the bring-up process' environment
			continue
		}
		out = append(out, k+"="+escape(*v))
	}
	slices.Sort(out)
	return out
}

// YAML encodes the project. Maps are written in sorted key order, so the same
// project always gives the same bytes.
func (p *Project) YAML() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# claude-bottle compose project %s: written by claude-bottle; this is exactly what was brought up.\n", p.Name)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encode compose project: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Render builds and encodes the project of a bottle.
func Render(opts Options) ([]byte, error) {
	p, err := Build(opts)
	if err != nil {
		return nil, err
	}
	return p.YAML()
}

// Env returns the environment entries (name=value) of a service as a map;
// entries without a value map to nil.
func (s *Service) Env() map[string]*string {
	out := map[string]*string{}
	for _, e := range s.Environment {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			out[k] = nil
			continue
		}
		v = strings.ReplaceAll(v, "$$", "$")
		out[k] = &v
	}
	return out
}
