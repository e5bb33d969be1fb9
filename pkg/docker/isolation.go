package docker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/network"
)

// ErrNotIsolated is wrapped by the error of an isolation check that found
// a way out of a bottle.
var ErrNotIsolated = errors.New("bottle is not isolated")

// OutsideName is the name the DNS probes ask for: one that exists on the
// public internet (apt on the host resolves it).
const OutsideName = "deb.debian.org"

// EmbeddedDNS is the engine's resolver inside every container on a
// user-defined network. It answers the sidecars' aliases itself; for an
// outside name it must not forward, so its answer is SERVFAIL or REFUSED
// (or none), never an address or NXDOMAIN, which only an outside
// resolver gives.
const EmbeddedDNS = "127.0.0.11"

// metadataIP is the cloud instance-metadata address (AWS, GCP, Azure, …):
// credentials live there on many hosts.
const metadataIP = "169.254.169.254"

// ProbeOptions say what an isolation probe checks from inside a container.
type ProbeOptions struct {
	// Hosts are addresses of the host (and anything else off-limits) no TCP
	// connection may reach, on each of Ports.
	Hosts []string
	Ports []int
	// Resolvers are DNS servers that must not answer a query for
	// OutsideName (127.0.0.11 is the engine's embedded resolver).
	Resolvers []string
	// Reach are host:port endpoints that must accept a TCP connection
	// (the sidecars the agent works with).
	Reach []string
	// Refuse are host:port endpoints that must not (pipelock, from the
	// agent's side).
	Refuse []string
	// Wait bounds each probe: one that has not answered by then counts as
	// no answer (a dropped packet never answers).
	Wait time.Duration
	// Full adds IPv6 (no interface may carry an IPv6 address) and the
	// process' privileges (no capability in the bounding set, no_new_privs).
	Full bool
}

// ProbeResult is what a probe saw.
type ProbeResult struct {
	// Problems lists each way out found, or each sidecar not reached.
	Problems []string
	Elapsed  time.Duration
}

// Err returns nil when the probe found nothing, else an error listing
// every problem, wrapping ErrNotIsolated.
func (r ProbeResult) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n  %s", ErrNotIsolated, strings.Join(r.Problems, "\n  "))
}

// dnsQuery is a DNS query (id 0x4342, recursion desired) for OutsideName,
// type A, as printf escapes.
var dnsQuery = func() string {
	var b strings.Builder
	b.WriteString(`\x43\x42\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00`)
	for _, label := range strings.Split(OutsideName, ".") {
		fmt.Fprintf(&b, `\x%02x%s`, len(label), label)
	}
	b.WriteString(`\x00\x00\x01\x00\x01`)
	return b.String()
}()

// ProbeScript is the bash script a probe runs. Every probe runs at once in
// the background; the script waits until all are done or Wait has passed,
// and a probe still waiting then got no answer. (On an internal network the
// container's default route points at a gateway address nobody holds, so
// off-network connections fail only when neighbour discovery gives up,
// after about 3 s: an isolated bottle takes the whole Wait.) Output lines: "OPEN host:port", "DNSREPLY resolver …",
// "IPV6 …", "CAPBND …", "NONEWPRIVS …"; nothing else.
func ProbeScript(opts ProbeOptions) string {
	var b strings.Builder
	b.WriteString(`tcp() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && echo "OPEN $1:$2"; }
dns() {
  exec 3<>"/dev/udp/$1/53" 2>/dev/null || return 0
  printf '` + dnsQuery + `' >&3 2>/dev/null || return 0
  set -- "$1" $(head -c 12 <&3 2>/dev/null | od -An -tu1)
  [ $# -ge 9 ] && echo "DNSREPLY $1 rcode=$(( $5 % 16 )) answers=$(( $8 * 256 + $9 ))"
}
`)
	for _, h := range opts.Hosts {
		for _, p := range opts.Ports {
			fmt.Fprintf(&b, "tcp %s %d &\n", h, p)
		}
	}
	for _, r := range opts.Resolvers {
		fmt.Fprintf(&b, "dns %s &\n", r)
	}
	for _, hp := range append(slices.Clone(opts.Reach), opts.Refuse...) {
		h, p, _ := net.SplitHostPort(hp)
		fmt.Fprintf(&b, "tcp %s %s &\n", h, p)
	}
	if opts.Full {
		b.WriteString(`if [ -s /proc/net/if_inet6 ]; then echo "IPV6 $(tr -s ' \n' ' ' </proc/net/if_inet6)"; fi
while read -r k v; do case $k in CapBnd:) echo "CAPBND $v";; NoNewPrivs:) echo "NONEWPRIVS $v";; esac; done </proc/self/status
`)
	}
	// Poll every 5 ms up to Wait, then drop whatever still hangs.
	polls := int(opts.Wait/(5*time.Millisecond)) + 1
	fmt.Fprintf(&b, `i=0
while [ -n "$(jobs -pr)" ] && [ $i -lt %d ]; do sleep 0.005; i=$((i+1)); done
kill $(jobs -pr) 2>/dev/null
exit 0
`, polls)
	return b.String()
}

// Judge reads a probe's output against opts.
func Judge(opts ProbeOptions, out string) []string {
	var problems []string
	open := map[string]bool{}
	sawCapBnd, sawNNP := false, false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "OPEN":
			open[f[1]] = true
		case "DNSREPLY":
			if len(f) < 4 {
				continue
			}
			// The embedded resolver may refuse (REFUSED) or fail
			// (SERVFAIL); an address or NXDOMAIN means it forwarded. Any
			// reply from any other resolver means a query left the bottle.
			if f[1] != EmbeddedDNS || f[2] == "rcode=3" || f[3] != "answers=0" {
				problems = append(problems, fmt.Sprintf("resolver %s answered a query for %s (%s %s): DNS leaves the bottle", f[1], OutsideName, f[2], f[3]))
			}
		case "IPV6":
			problems = append(problems, "the container has IPv6 addresses: "+strings.Join(f[1:], " "))
		case "CAPBND":
			sawCapBnd = true
			if strings.Trim(f[1], "0") != "" {
				problems = append(problems, "capabilities left in the bounding set: "+f[1])
			}
		case "NONEWPRIVS":
			sawNNP = true
			if f[1] != "1" {
				problems = append(problems, "no_new_privs is not set")
			}
		}
	}
	if opts.Full && (!sawCapBnd || !sawNNP) {
		problems = append(problems, "could not read the process' privileges from /proc/self/status")
	}
	for _, h := range opts.Hosts {
		for _, p := range opts.Ports {
			if hp := net.JoinHostPort(h, strconv.Itoa(p)); open[hp] {
				problems = append(problems, "reached "+hp+" (an address outside the bottle)")
			}
		}
	}
	for _, hp := range opts.Refuse {
		if open[hp] {
			problems = append(problems, "reached "+hp+" (the agent must have no route to it)")
		}
	}
	for _, hp := range opts.Reach {
		if !open[hp] {
			problems = append(problems, "could not reach "+hp+" (a sidecar the agent needs)")
		}
	}
	return problems
}

// Probe runs the probe in container id as its own user and judges it.
func (e *Engine) Probe(ctx context.Context, id string, opts ProbeOptions) (ProbeResult, error) {
	start := time.Now()
	out, code, err := e.ExecScript(ctx, id, "", "command -v bash >/dev/null || { echo NOBASH; exit 3; }\nexec bash -s <<'CLAUDE_BOTTLE_PROBE'\n"+ProbeScript(opts)+"CLAUDE_BOTTLE_PROBE\n")
	res := ProbeResult{Elapsed: time.Since(start)}
	if err != nil {
		return res, fmt.Errorf("isolation probe: %w", err)
	}
	if code == 3 && strings.Contains(out, "NOBASH") {
		return res, errors.New("isolation probe: the agent image has no bash; the probe needs it (install bash in the image)")
	}
	if code != 0 {
		return res, fmt.Errorf("isolation probe: exit %d: %s", code, strings.TrimSpace(out))
	}
	res.Problems = Judge(opts, out)
	return res, nil
}

// ProbeTargets fills in what every probe checks: the host's own
// addresses, the gateways of the default bridge and of networks, the cloud
// metadata address, and the resolvers a leak would go to (the host's, two
// public ones, the engine's embedded one, each network gateway).
func (e *Engine) ProbeTargets(ctx context.Context, networks []string) (hosts, resolvers []string) {
	hosts = append(hostIPv4s(), metadataIP)
	resolvers = append(hostNameservers(), "8.8.8.8", "1.1.1.1", EmbeddedDNS)
	for _, n := range append([]string{"bridge"}, networks...) {
		info, err := e.api.NetworkInspect(ctx, n, network.InspectOptions{})
		if err != nil {
			continue
		}
		for _, c := range info.IPAM.Config {
			if ip := net.ParseIP(c.Gateway); ip != nil && ip.To4() != nil {
				hosts = append(hosts, c.Gateway)
				resolvers = append(resolvers, c.Gateway)
			}
		}
	}
	slices.Sort(hosts)
	slices.Sort(resolvers)
	return slices.Compact(hosts), slices.Compact(resolvers)
}

// ProbePorts are the host ports probed: ssh, DNS, HTTP(S), the engine's
// TCP API, a common dev server.
var ProbePorts = []int{22, 53, 80, 443, 2375, 8080}

// hostNameservers are the IPv4 nameservers of the host's resolv.conf
// (loopback ones are the host's own and unreachable from any container
// namespace anyway).
func hostNameservers() []string {
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]); ip != nil && ip.To4() != nil && !ip.IsLoopback() {
				out = append(out, f[1])
			}
		}
	}
	return out
}
