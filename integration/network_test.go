//go:build integration

package integration

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// TestInternalNetworkIsolation proves the network property the whole design
// rests on: a container on an internal bridge network created with
// com.docker.network.bridge.inhibit_ipv4=true reaches no address of the host,
// resolves no outside name, and still reaches a peer on the same network by
// alias. A control container on the default bridge runs the same probes and
// must succeed, so the test cannot pass by probing something that never works.
func TestInternalNetworkIsolation(t *testing.T) {
	env := itest.Require(t)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")

	// A listener on every host address: whatever the agent connects to on
	// the host side, this would answer and record it.
	hits := listenAll(t)

	internal := env.InternalNetwork(t, "internal")
	peer := env.Run(t, itest.RunSpec{Name: "peer", Image: images.AgentTestImage, Network: internal.Name, Aliases: []string{"peer"},
		Cmd: []string{"nc", "-lk", "7000"}})
	agent := env.Run(t, itest.RunSpec{Name: "agent", Image: images.AgentTestImage, Network: internal.Name})
	control := env.Run(t, itest.RunSpec{Name: "control", Image: images.AgentTestImage, Network: "bridge"})
	assert.Assert(t, peer.IP[internal.Name] != "", "peer has no address on the internal network")

	targets := hostAddresses(t)
	info, err := dockerClient(t).NetworkInfo(internal.ID)
	assert.NilError(t, err)
	for _, c := range info.IPAM.Config {
		if c.Gateway != "" {
			targets = append(targets, c.Gateway)
		}
	}
	bridgeGW := control.Gateway["bridge"]
	assert.Assert(t, bridgeGW != "", "control container has no gateway on the default bridge")
	targets = append(targets, bridgeGW)
	slices.Sort(targets)
	targets = slices.Compact(targets)
	t.Logf("host addresses probed on port %d: %v", hits.port, targets)

	t.Run("no host address answers on TCP", func(t *testing.T) {
		// Positive control: from the default bridge the host answers.
		ctl := control.Exec(t, probeTCP(bridgeGW, hits.port))
		assert.Assert(t, strings.Contains(ctl.Stdout, "OPEN "+bridgeGW), "control container could not reach the host listener at %s:%d; the probe proves nothing: %s %s", bridgeGW, hits.port, ctl.Stdout, ctl.Stderr)
		before := hits.count()
		// All probes at once: each one that fails does so by timing out.
		var script strings.Builder
		for _, ip := range targets {
			script.WriteString("( " + strings.TrimSuffix(probeTCP(ip, hits.port), "\n") + " ) &\n")
		}
		script.WriteString("wait\n")
		res := agent.Exec(t, script.String())
		t.Logf("agent probes:\n%s", res.Stdout)
		for _, ip := range targets {
			assert.Assert(t, strings.Contains(res.Stdout, "CLOSED "+ip), "agent on the internal network reached host address %s:%d: %s", ip, hits.port, res.Stdout)
		}
		assert.Equal(t, hits.count(), before, "the host listener recorded connections from the agent")
	})

	t.Run("no outside name resolves", func(t *testing.T) {
		name := "deb.debian.org" // resolves on the host: apt uses it
		if _, err := net.LookupHost(name); err != nil {
			t.Fatalf("host cannot resolve %s (%v): the probe would prove nothing", name, err)
		}
		ctl := control.Exec(t, "getent ahostsv4 "+name)
		assert.Equal(t, ctl.Code, 0, "control container cannot resolve %s: %s", name, ctl.Stderr)
		res := agent.Exec(t, "getent ahostsv4 "+name+"; echo rc=$?")
		assert.Assert(t, strings.Contains(res.Stdout, "rc=2"), "agent resolved %s: %s", name, res.Stdout)
		nameservers := hostNameservers(t)
		var script strings.Builder
		for _, ns := range nameservers {
			fmt.Fprintf(&script, "( out=$(dig +time=2 +tries=1 +short @%[1]s %[2]s 2>&1); echo \"dig @%[1]s rc=$? $(echo $out | tr '\\n' ' ')\" ) &\n", ns, name)
		}
		script.WriteString("wait\n")
		res = agent.Exec(t, script.String())
		t.Logf("agent DNS probes:\n%s", res.Stdout)
		for _, ns := range nameservers {
			assert.Assert(t, strings.Contains(res.Stdout, "dig @"+ns+" rc=9"), "agent got a DNS answer (or an unexpected error) from %s: %s", ns, res.Stdout)
		}
	})

	t.Run("peer reachable by alias", func(t *testing.T) {
		res := agent.Exec(t, "getent hosts peer && "+probeTCP("peer", 7000))
		assert.Equal(t, res.Code, 0, res.Stderr)
		assert.Assert(t, strings.Contains(res.Stdout, peer.IP[internal.Name]), "alias peer resolved to %q, want %s", res.Stdout, peer.IP[internal.Name])
		assert.Assert(t, strings.Contains(res.Stdout, "OPEN peer"), res.Stdout)
	})
}

// probeTCP is a bash snippet printing "OPEN <host>" when a TCP connection to
// host:port succeeds within 3 s and "CLOSED <host> <why>" otherwise.
func probeTCP(host string, port int) string {
	return fmt.Sprintf(`if out=$(timeout 3 bash -c 'exec 3<>/dev/tcp/%[1]s/%[2]d' 2>&1); then echo "OPEN %[1]s"; else echo "CLOSED %[1]s rc=$? $out"; fi`+"\n", host, port)
}

type listener struct {
	port int
	mu   sync.Mutex
	n    int
}

func (l *listener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func listenAll(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	assert.NilError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	l := &listener{port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.n++
			l.mu.Unlock()
			t.Logf("host listener: connection from %s", c.RemoteAddr())
			_ = c.Close()
		}
	}()
	return l
}

func hostAddresses(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	assert.NilError(t, err)
	var out []string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil || ipn.IP.IsLoopback() {
			continue
		}
		out = append(out, ipn.IP.String())
	}
	return out
}

func hostNameservers(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/etc/resolv.conf")
	if err != nil {
		t.Logf("no /etc/resolv.conf: %v", err)
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if ip := net.ParseIP(fields[1]); ip != nil && ip.To4() != nil && !ip.IsLoopback() {
				out = append(out, fields[1])
			}
		}
	}
	return append(out, "8.8.8.8", "1.1.1.1")
}
