package lifecycle

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
	// set -m: each probe is its own process group, so the ones still
	// waiting are killed with every child they started (none may keep the
	// exec's output open or outlive the probe).
	b.WriteString(`set -m
exec 2>/dev/null
pids=
tcp() { exec 3<>"/dev/tcp/$1/$2" && echo "OPEN $1:$2"; }
dns() {
  exec 3<>"/dev/udp/$1/53" 2>/dev/null || return 0
  printf '` + dnsQuery + `' >&3 2>/dev/null || return 0
  set -- "$1" $(head -c 12 <&3 2>/dev/null | od -An -tu1)
  [ $# -ge 9 ] && echo "DNSREPLY $1 rcode=$(( $5 % 16 )) answers=$(( $8 * 256 + $9 ))"
}
`)
	for _, h := range opts.Hosts {
		for _, p := range opts.Ports {
			fmt.Fprintf(&b, "tcp %s %d 2>/dev/null & pids=\"$pids $!\"\n", h, p)
		}
	}
	for _, r := range opts.Resolvers {
		fmt.Fprintf(&b, "dns %s 2>/dev/null & pids=\"$pids $!\"\n", r)
	}
	for _, hp := range append(slices.Clone(opts.Reach), opts.Refuse...) {
		h, p, _ := net.SplitHostPort(hp)
		fmt.Fprintf(&b, "tcp %s %s 2>/dev/null & pids=\"$pids $!\"\n", h, p)
	}
	if opts.Full {
		b.WriteString(`if [ -s /proc/net/if_inet6 ]; then echo "IPV6 $(tr -s ' \n' ' ' </proc/net/if_inet6)"; fi
while read -r k v; do case $k in CapBnd:) echo "CAPBND $v";; NoNewPrivs:) echo "NONEWPRIVS $v";; esac; done </proc/self/status
`)
	}
	// Poll every 5 ms up to Wait, then drop whatever still hangs.
	polls := int(opts.Wait/(5*time.Millisecond)) + 1
	// The 5 ms tick is a read with a timeout on a pipe that stays silent:
	// a builtin, where sleep would fork a process per tick.
	fmt.Fprintf(&b, `exec 9< <(exec sleep 60); tick=$!
i=0
while [ $i -lt %d ]; do
  alive=
  for p in $pids; do kill -0 "$p" 2>/dev/null && { alive=1; break; }; done
  [ -z "$alive" ] && break
  read -r -t 0.005 -u 9; i=$((i+1))
done
for p in $pids; do kill -9 -- "-$p" 2>/dev/null; done
kill -9 "$tick" 2>/dev/null
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
func (e *Backend) Probe(ctx context.Context, id string, opts ProbeOptions) (ProbeResult, error) {
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
// public ones, the engine's embedded one, each network gateway). With all
// unset, the host's addresses are those of its own interfaces only, not of
// the bridges of every other network on the engine (a host with many
// bottles has dozens; they are all behind the same missing route).
func (e *Backend) ProbeTargets(ctx context.Context, networks []string, all bool) (hosts, resolvers []string) {
	if all {
		hosts = hostIPv4s()
	} else {
		hosts = ownIPv4s()
	}
	hosts = append(hosts, metadataIP)
	resolvers = append(hostNameservers(), "8.8.8.8", "1.1.1.1", EmbeddedDNS)
	for _, n := range append([]string{"bridge"}, networks...) {
		gws, err := e.NetworkGateways(ctx, n)
		if err != nil {
			continue
		}
		for _, gw := range gws {
			if ip := net.ParseIP(gw); ip != nil && ip.To4() != nil {
				hosts = append(hosts, gw)
				resolvers = append(resolvers, gw)
			}
		}
	}
	slices.Sort(hosts)
	slices.Sort(resolvers)
	return slices.Compact(hosts), slices.Compact(resolvers)
}

// ProbePorts are the host ports probed: ssh, HTTP(S), the engine's TCP
// API (all: also DNS and a common dev server), and a few ports the host
// really listens on on every address (a probe of a port nobody listens on
// proves nothing).
func ProbePorts(all bool) []int {
	ports, most := []int{22, 80, 443, 2375}, 2
	if all {
		ports, most = []int{22, 53, 80, 443, 2375, 8080}, 4
	}
	extra := 0
	for _, p := range hostWildcardListeners() {
		if extra < most && !slices.Contains(ports, p) {
			ports = append(ports, p)
			extra++
		}
	}
	return ports
}

// hostWildcardListeners are the TCP ports the host listens on on every
// IPv4 address (from /proc/net/tcp), lowest first.
func hostWildcardListeners() []int {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil
	}
	var out []int
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		ip, port, ok := strings.Cut(f[1], ":")
		if !ok || ip != "00000000" {
			continue
		}
		if p, err := strconv.ParseUint(port, 16, 16); err == nil {
			out = append(out, int(p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ownIPv4s are the IPv4 addresses of the host's own interfaces: not the
// engine's bridges (docker0, br-*) nor container ends (veth*).
func ownIPv4s() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []string
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, "br-") || strings.HasPrefix(i.Name, "docker") || strings.HasPrefix(i.Name, "veth") {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				out = append(out, ipn.IP.String())
			}
		}
	}
	return out
}

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
