package lifecycle

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// AllowEngineBugEnv, set to the ID of a known engine bug (or "all"), lets
// `up` run bottles on an engine with that bug when the bottle cannot be
// shown to be safe from it. It exists for operators who have fixed the bug
// another way (a patched distribution build); it is never needed for an
// engine where the bottle's own mitigation is in place and proven.
const AllowEngineBugEnv = "CLAUDE_BOTTLE_ALLOW_ENGINE_BUG"

// EngineBug is a known isolation bug of some engine versions.
type EngineBug struct {
	// ID names it (a CVE).
	ID string
	// Summary says what it breaks.
	Summary string
	// FixedIn lists the first fixed release of each maintained line.
	FixedIn string
}

// CVE202429018 is the embedded-DNS forwarding bug: a container only on
// internal networks still resolves outside names when the host's resolver
// is on a loopback address (systemd-resolved's 127.0.0.53), because the
// engine forwards such queries from the host's network namespace. A
// bottle's agent could exfiltrate through DNS queries. Bottles mitigate it
// themselves: the agent's DNS forwards only to an unroutable,
// non-loopback address (see compose.AgentDNS), so the engine forwards from
// the agent's own namespace, where nothing is routed.
var CVE202429018 = EngineBug{
	ID:      "CVE-2024-29018",
	Summary: "the embedded DNS of internal networks forwards queries from the host's network namespace when the host's resolver is on loopback",
	FixedIn: "26.0.0, 25.0.5, 23.0.11",
}

// KnownBugs returns the known isolation bugs of an engine version such as
// "20.10.24+dfsg1" or "25.0.3". A version it cannot read is assumed to
// have them all: failing closed is the safe side.
func KnownBugs(version string) []EngineBug {
	v, ok := parseVersion(version)
	if !ok {
		return []EngineBug{CVE202429018}
	}
	var out []EngineBug
	if v.less(23, 0, 11) || (v.major == 24) || (v.major == 25 && v.less(25, 0, 5)) {
		out = append(out, CVE202429018)
	}
	return out
}

type semver struct{ major, minor, patch int }

func (v semver) less(major, minor, patch int) bool {
	if v.major != major {
		return v.major < major
	}
	if v.minor != minor {
		return v.minor < minor
	}
	return v.patch < patch
}

// parseVersion reads the leading major.minor.patch of a version, ignoring
// any suffix ("+dfsg1", "-ce", "-rc.1").
func parseVersion(s string) (semver, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return semver{}, false
	}
	var n [3]int
	for i, p := range parts {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		if end == 0 {
			return semver{}, false
		}
		x, err := strconv.Atoi(p[:end])
		if err != nil {
			return semver{}, false
		}
		n[i] = x
		if end < len(p) && i < 2 && len(parts) > i+1 {
			return semver{}, false // "20-x.10" is not a version
		}
	}
	return semver{n[0], n[1], n[2]}, true
}

// DNSMitigated reports whether a container's DNS settings keep the engine
// from forwarding its queries from the host's namespace: at least one
// resolver set, none of them on loopback (the engine forwards to loopback
// resolvers from the host).
func DNSMitigated(dns []string) bool {
	if len(dns) == 0 {
		return false
	}
	for _, d := range dns {
		ip := net.ParseIP(d)
		if ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
			return false
		}
	}
	return true
}

// allowedBug reports whether the operator's override value admits bug.
func allowedBug(override string, bug EngineBug) bool {
	for _, v := range strings.Split(override, ",") {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, bug.ID) || strings.EqualFold(v, "all") {
			return true
		}
	}
	return false
}

func (b EngineBug) String() string {
	return fmt.Sprintf("%s (%s; fixed in %s)", b.ID, b.Summary, b.FixedIn)
}
