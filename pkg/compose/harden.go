package compose

import (
	"strconv"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// Hardening shared by every container of a bottle. An agent that gains root
// inside its container must find nothing to escalate with: no capability
// (CAP_NET_RAW would let it ARP-spoof its network, CAP_NET_ADMIN reroute it,
// CAP_SYS_ADMIN mount things), no setuid path back to one, and bounded
// memory and processes so that it cannot take the host down with it.
const (
	// NoNewPrivileges stops setuid/setcap binaries from granting anything
	// (the kernel's no_new_privs bit; the agent's /proc/self/status shows
	// NoNewPrivs: 1).
	NoNewPrivileges = "no-new-privileges:true"
	// CapAll is the cap_drop entry that removes every capability.
	CapAll = "ALL"
)

// AgentDNS is the only resolver the engine's embedded DNS may forward the
// agent's outside lookups to: an address of TEST-NET-1 (RFC 5737, never
// routed), not on loopback. Engines with CVE-2024-29018 forward queries for
// loopback resolvers (systemd-resolved's 127.0.0.53) from the host's
// network namespace, which lets a container on an internal network resolve
// (and exfiltrate through) outside names; for any other resolver they
// forward from the container's namespace, where the agent's internal
// network has no route, so the query fails at once. The aliases of the
// sidecars are answered by the embedded DNS itself and keep working.
const AgentDNS = "192.0.2.53"

// DefaultAgentUser is the uid:gid the agent runs as when its image would
// run it as root (no USER, or USER root): the first user Debian's useradd
// creates, which the project's agent images call "agent". A root agent
// without capabilities is still root over every root-owned file of its
// image; bottles do not run one by default.
const DefaultAgentUser = "1000:1000"

// Sidecar limits. The daemons' budgets are far below these (the bundle idles
// near 40 MB; pipelock holds one 10 MiB upload within 64 MB; git-gate scans a
// 256 MB push within 128 MB): the limits only stop a runaway from reaching
// the host. git-gate's mirrors live on a tmpfs, charged to its container's
// memory, hence its larger share.
const (
	sidecarMemory    = 512 << 20
	gitGateMemory    = 1536 << 20
	bundleMemory     = 2 << 30
	sidecarPids      = 512
	workTmpfsSize    = "1g"
	scratchTmpfsSize = "64m"
)

// SidecarWorkDir is the sidecars' only writable place besides /tmp:
// git-gate's mirrors and its HOME (a tmpfs; the root filesystem is
// read-only). Executable, because git runs git-gate's pre-receive hook from
// there.
const SidecarWorkDir = "/var/lib/claude-bottle/work"

// sidecarSysctls switch off forwarding and IPv6 inside each sidecar's
// network namespace: a sidecar joins the agent's network and the outside
// one, and must never route between them, nor speak IPv6 (link-local
// addresses and router advertisements) where the bottle only filters IPv4.
func sidecarSysctls() map[string]string {
	return map[string]string{
		"net.ipv4.ip_forward":                "0",
		"net.ipv4.conf.all.forwarding":       "0",
		"net.ipv6.conf.all.disable_ipv6":     "1",
		"net.ipv6.conf.default.disable_ipv6": "1",
	}
}

// agentSysctls keep IPv6 off in the agent's namespace (it cannot change
// them back: no CAP_NET_ADMIN, and /proc/sys is read-only in a container).
func agentSysctls() map[string]string {
	return map[string]string{
		"net.ipv6.conf.all.disable_ipv6":     "1",
		"net.ipv6.conf.default.disable_ipv6": "1",
	}
}

// hardenSidecar applies the sidecar hardening to s. No daemon needs a
// capability: they run as an unprivileged uid, listen above port 1024, open
// no raw socket and change no system file; initd and tini reap children
// without one. So nothing is added back after cap_drop ALL.
func hardenSidecar(s *Service, memory int64) {
	s.CapDrop = []string{CapAll}
	s.SecurityOpt = []string{NoNewPrivileges}
	s.ReadOnly = true
	s.Tmpfs = []string{
		"/tmp:rw,nosuid,nodev,noexec,size=" + scratchTmpfsSize + ",mode=1777",
		SidecarWorkDir + ":rw,nosuid,nodev,exec,size=" + workTmpfsSize + ",mode=1777",
	}
	s.Sysctls = sidecarSysctls()
	s.MemLimit = memory
	s.MemswapLimit = memory
	s.PidsLimit = sidecarPids
}

// legacyMemory is the memory limit of one legacy sidecar.
func legacyMemory(daemon string) int64 {
	if daemon == contract.GitGate {
		return gitGateMemory
	}
	return sidecarMemory
}

// hardenAgent applies the agent hardening and the bottle's [resources].
func hardenAgent(s *Service, opts Options) {
	r := opts.Bottle.Resources
	s.CapDrop = []string{CapAll}
	s.SecurityOpt = []string{NoNewPrivileges}
	s.Sysctls = agentSysctls()
	s.DNS = []string{AgentDNS}
	s.MemLimit = r.MemoryBytes()
	s.MemswapLimit = s.MemLimit // no swap beyond the limit
	s.PidsLimit = r.Pids
	s.CPUs = strconv.FormatFloat(r.CPUs, 'f', -1, 64)
}
