// Package contract is everything the host side and the bottle side of
// claude-bottle must spell the same way, defined once: daemon names, ports
// and argv; container, network and project names; labels and role values;
// in-container paths and the files of each daemon's state directory; the
// environment variables that cross (and the shape flag); the headers the
// agent sees on a refusal; egress' control URL; supervise's MCP tool names;
// and the status record pipelock reports to the host. Tests, images, the
// renderer and the daemons import it; it imports nothing of the module.
package contract

import (
	"fmt"
	"regexp"
	"strconv"
)

// Daemon names in canonical start order.
const (
	Egress    = "egress"
	Pipelock  = "pipelock"
	GitGate   = "git-gate"
	Supervise = "supervise"
)

// Daemons lists the sidecar daemons in canonical start order.
func Daemons() []string { return []string{Egress, Pipelock, GitGate, Supervise} }

// Port returns the port a daemon listens on, or 0 for an unknown name.
func Port(daemon string) int {
	switch daemon {
	case Egress:
		return 9099
	case Pipelock:
		return 8888
	case GitGate:
		return 9418
	case Supervise:
		return 9100
	}
	return 0
}

// Label keys.
const (
	// LabelSlug is carried by every container and network of a bottle;
	// cleanup and orphan detection select on it, never on names.
	LabelSlug = "dev.claude-bottle.slug"
	// LabelRole says what a container is: agent, sidecars, or a daemon name.
	LabelRole = "dev.claude-bottle.role"
)

// Paths inside the sidecar containers (identical in both shapes).
const (
	SidecarBinary = "/usr/local/bin/claude-bottle-sidecar"
	InitdBinary   = "/usr/local/bin/initd"
	ConfigRoot    = "/etc/claude-bottle"
	QueueMount    = "/var/lib/claude-bottle/queue"
	// AgentCAMount is where the agent sees the bottle CA certificate (and
	// nothing else of the state dir).
	AgentCAMount = "/etc/claude-bottle/ca"
)

// ConfigDir returns the in-container directory a daemon's state is mounted at.
func ConfigDir(daemon string) string { return ConfigRoot + "/" + daemon }

// Project returns the compose project name of a bottle.
func Project(slug string) string { return "claude-bottle-" + slug }

// AgentContainer returns the agent container's name.
func AgentContainer(slug string) string { return "claude-bottle-" + slug }

// SidecarContainer returns the legacy container name of one daemon; it is also
// the daemon's long alias on the internal network in both shapes.
func SidecarContainer(daemon, slug string) string { return "claude-bottle-" + daemon + "-" + slug }

// BundleContainer returns the bundle container's name.
func BundleContainer(slug string) string { return "claude-bottle-sidecars-" + slug }

// InternalNetwork returns the name of the bottle's internal network.
func InternalNetwork(slug string) string { return "claude-bottle-net-" + slug }

// EgressNetwork returns the name of the network the sidecars reach out on.
func EgressNetwork(slug string) string { return "claude-bottle-egress-" + slug }

// HopNetwork returns the name of the legacy shape's private egress ↔
// pipelock network (internal; the agent is never on it).
func HopNetwork(slug string) string { return "claude-bottle-hop-" + slug }

// URL returns the http URL at which the agent reaches a daemon by short alias.
func URL(daemon string) string { return "http://" + daemon + ":" + strconv.Itoa(Port(daemon)) }

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?-[a-z0-9]{5}$`)

// ValidateSlug checks that s has the shape <bottle name>-<5 base36 chars>.
// Slugs become path components and resource names, so anything else (a
// traversal, a slash, upper case) is refused.
func ValidateSlug(s string) error {
	if !slugRE.MatchString(s) {
		return fmt.Errorf("invalid bottle slug %q: want <name>-<5 lowercase letters or digits>, e.g. demo-k3x9q", s)
	}
	return nil
}

// AgentBaseArg is the build argument a capability Dockerfile's FROM names:
// supervise writes it into the Dockerfile, the engine sets it to the
// snapshot of the running agent.
const AgentBaseArg = "CLAUDE_BOTTLE_AGENT_BASE"

// InhibitIPv4 is the bridge driver option that leaves an internal network
// without a host address (docs/architecture.md, "Network isolation"): without it an agent on an
// "internal" network reaches every port the host listens on.
const InhibitIPv4 = "com.docker.network.bridge.inhibit_ipv4"

// Argv returns the arguments of the sidecar binary that run daemon, listening
// on all addresses of its container (a daemon bound to 127.0.0.1 would refuse
// its peers on the Docker network). Both shapes use exactly these: the legacy
// renderer as the service command, initd when it spawns the daemon.
func Argv(daemon string) []string {
	listen := "0.0.0.0:" + strconv.Itoa(Port(daemon))
	switch daemon {
	case Egress:
		return []string{Egress, "--listen", listen, "--config-dir", ConfigDir(Egress)}
	case Pipelock:
		return []string{Pipelock, "run", "--listen", listen, "--config", ConfigDir(Pipelock) + "/pipelock.yaml"}
	case GitGate:
		return []string{GitGate, "--listen", listen, "--config-dir", ConfigDir(GitGate)}
	case Supervise:
		return []string{Supervise, "--listen", listen}
	}
	return nil
}

// BundleArgv is Argv for the bundle, where pipelock serves egress alone over
// loopback: it listens on 127.0.0.1, so the agent, which reaches the
// bundle's address on the internal network, cannot connect to it at all.
func BundleArgv(daemon string) []string {
	argv := Argv(daemon)
	if daemon == Pipelock {
		argv[3] = "127.0.0.1:" + strconv.Itoa(Port(Pipelock))
	}
	return argv
}
