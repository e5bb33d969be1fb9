package pipelock

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// blockedRanges are destinations pipelock never connects to unless a CIDR of
// ssrf.allow_cidrs covers them: loopback, private, link-local (cloud
// metadata at 169.254.169.254 among them), CGNAT, multicast, unspecified,
// documentation and benchmarking ranges, and their IPv6 counterparts.
var blockedRanges = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
	"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "2001:db8::/32",
	"fc00::/7", "fe80::/10", "ff00::/8",
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// Resolver looks host names up; *net.Resolver satisfies it, tests use stubs
// that record every lookup.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

var _ Resolver = (*net.Resolver)(nil)

// ErrForbiddenAddress is returned when every address of a host is refused.
var ErrForbiddenAddress = errors.New("destination address refused")

// Guard resolves and dials upstream destinations, refusing forbidden
// addresses. It checks the addresses it resolved and dials exactly those, so
// a DNS answer that changes between check and connect (rebinding) cannot
// slip a private address through.
type Guard struct {
	Resolver Resolver
	Allow    []netip.Prefix
	Timeout  time.Duration
	// Dial connects to a checked ip:port; nil means a net.Dialer. Tests
	// point it at their stand-in internet.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Allowed reports whether ip may be dialled.
func (g *Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	for _, p := range blockedRanges {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// DialContext resolves addr's host and connects to the first allowed address.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("port %q: %w", port, err)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		ips, err = g.Resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	dial := g.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	}
	var lastErr error
	for _, ip := range ips {
		if !g.Allowed(ip) {
			lastErr = fmt.Errorf("%w: %s resolves to %s (private, loopback, link-local or reserved)", ErrForbiddenAddress, host, ip)
			continue
		}
		c, err := dial(ctx, network, netip.AddrPortFrom(ip.Unmap(), mustPort(port)).String())
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("resolve %s: no addresses", host)
	}
	return nil, lastErr
}

func mustPort(p string) uint16 {
	n, _ := strconv.Atoi(p)
	return uint16(n) //nolint:gosec // validated by Atoi above; out-of-range ports fail at dial
}
