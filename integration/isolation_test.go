//go:build integration

package integration

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dc "github.com/ory/dockertest/v3/docker"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/internal/standin"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
)

const isolationRouteToken = "rt_IsolationRouteCredential5d81be04"

// isolationRig brings up a bottle (shape from CLAUDE_BOTTLE_SIDECAR_BUNDLE)
// with small limits, an allowed host and an auth route, beside the stand-in
// internet.
func isolationRig(t *testing.T, env *itest.Env) *itest.Rig {
	t.Helper()
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	lookup := func(k string) (string, bool) {
		if k == "CB_ISOLATION_TOKEN" {
			return isolationRouteToken, true
		}
		return "", false
	}
	rig := env.StandinRig(t, itest.RigOptions{Shape: contract.ShapeFromEnv(itest.LookupEnv), Lookup: lookup, Manifest: `name = "iso"
image = "` + images.AgentTestImage + `"
[[egress.routes]]
host = "` + itest.AllowedHost + `"
[[egress.routes]]
host = "` + itest.AuthHost + `"
auth = { scheme = "Bearer", token_ref = "CB_ISOLATION_TOKEN" }
[resources]
memory = "192m"
pids = 96
cpus = 1
[supervise]
enabled = true
`})
	t.Logf("bottle %s up (%s shape) in %.1fs:\n%s", rig.Plan.Slug, rig.Plan.Shape, rig.UpTime.Seconds(), rig.UpOutput)
	assert.Assert(t, is.Contains(rig.UpOutput, "isolation checked in"), "up must check isolation before it reports success")
	return rig
}

// agentExec runs script in the bottle's agent as its own user.
func agentExec(t *testing.T, rig *itest.Rig, script string) (string, int) {
	t.Helper()
	out, code, err := rig.Eng.ExecScript(t.Context(), contract.AgentContainer(rig.Plan.Slug), "", script)
	assert.NilError(t, err)
	return out, code
}

// TestIsolation attacks a running bottle from its agent: privileges,
// routes to pipelock, credentials over plain HTTP, memory and process
// exhaustion. Each defence is judged at the far side where there is one.
func TestIsolation(t *testing.T) {
	env := itest.Require(t)
	rig := isolationRig(t, env)
	slug := rig.Plan.Slug
	agent := contract.AgentContainer(slug)

	t.Run("agent has no capability and no_new_privs, and is not root", func(t *testing.T) {
		out, code := agentExec(t, rig, "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status; id -u")
		assert.Equal(t, code, 0, out)
		assert.Assert(t, is.Contains(out, "CapEff:\t0000000000000000"), out)
		assert.Assert(t, is.Contains(out, "CapBnd:\t0000000000000000"), out)
		assert.Assert(t, is.Contains(out, "NoNewPrivs:\t1"), out)
		assert.Assert(t, !strings.HasSuffix(strings.TrimSpace(out), "\n0") && strings.TrimSpace(out) != "0", "the agent runs as root: %s", out)
		// Even uid 0 in the agent (docker exec -u 0) holds nothing: it
		// cannot write /proc/sys, remount, or use a setuid binary.
		out, _, err := rig.Eng.ExecScript(t.Context(), agent, "0", `grep -E '^(CapEff|NoNewPrivs):' /proc/self/status
echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo WROTE-SYSCTL
mount -o remount,rw /proc/sys 2>/dev/null && echo REMOUNTED
mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED
unshare -Urn sh -c 'ip link set lo up 2>/dev/null; echo USERNS-ROOT' 2>/dev/null
echo ipv6=$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6) inet6=$(wc -l < /proc/net/if_inet6)
find / -xdev -perm -4000 -type f 2>/dev/null | head -3 | while read f; do echo setuid $f; done
su agent -c 'id -u' </dev/null 2>&1 | head -1 | sed 's/^/su: /'`)
		assert.NilError(t, err)
		assert.Assert(t, is.Contains(out, "CapEff:\t0000000000000000"), out)
		assert.Assert(t, is.Contains(out, "NoNewPrivs:\t1"), out)
		for _, s := range []string{"WROTE-SYSCTL", "REMOUNTED", "MOUNTED", "USERNS-ROOT"} {
			assert.Assert(t, !strings.Contains(out, s), out)
		}
		assert.Assert(t, is.Contains(out, "ipv6=1 inet6=0"), "IPv6 must be off in the agent: %s", out)
		assert.Assert(t, !strings.Contains(out, "su: 1000"), "su switched users without CAP_SETUID: %s", out)
		t.Logf("root in the agent:\n%s", out)
	})

	t.Run("containers are limited and sidecars read-only", func(t *testing.T) {
		cs, err := rig.Eng.BottleContainers(t.Context(), slug)
		assert.NilError(t, err)
		assert.Assert(t, len(cs) >= 2)
		for _, c := range cs {
			info, err := sdk(t).ContainerInspect(t.Context(), c.ID)
			assert.NilError(t, err)
			hc := info.HostConfig
			assert.DeepEqual(t, []string(hc.CapDrop), []string{"ALL"})
			assert.Assert(t, is.Contains(hc.SecurityOpt, "no-new-privileges:true"), c.Name)
			assert.Assert(t, hc.Memory > 0 && hc.MemorySwap == hc.Memory, "%s: memory %d swap %d", c.Name, hc.Memory, hc.MemorySwap)
			assert.Assert(t, hc.PidsLimit != nil && *hc.PidsLimit > 0, c.Name)
			if c.Role == "agent" {
				assert.Equal(t, hc.Memory, int64(192<<20))
				assert.Equal(t, *hc.PidsLimit, int64(96))
				assert.Equal(t, hc.NanoCPUs, int64(1e9))
				assert.DeepEqual(t, hc.DNS, []string{compose.AgentDNS})
				continue
			}
			assert.Assert(t, hc.ReadonlyRootfs, c.Name)
			assert.Equal(t, hc.Sysctls["net.ipv4.ip_forward"], "0")
			out, _, err := rig.Eng.ExecScript(t.Context(), c.ID, "", "grep -E '^CapEff:' /proc/self/status; touch /usr/x 2>&1; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/disable_ipv6")
			assert.NilError(t, err)
			assert.Assert(t, is.Contains(out, "CapEff:\t0000000000000000"), "%s: %s", c.Name, out)
			assert.Assert(t, is.Contains(out, "Read-only file system"), "%s: %s", c.Name, out)
			assert.Assert(t, is.Contains(out, "0\n1\n"), "%s: forwarding on or IPv6 on: %s", c.Name, out)
		}
		nets, err := dockerClient(t).FilteredListNetworks(map[string]map[string]bool{"label": {contract.LabelSlug + "=" + slug: true}})
		assert.NilError(t, err)
		want := 2
		if rig.Plan.Shape == contract.Legacy {
			want = 3 // + the hop network
		}
		assert.Equal(t, len(nets), want)
		for _, n := range nets {
			assert.Assert(t, !n.EnableIPv6, n.Name)
		}
	})

	t.Run("agent has no route to pipelock", func(t *testing.T) {
		// By name: nothing on the agent's network carries the alias, so it
		// does not resolve (the engine's resolver has no record and
		// forwards nowhere).
		internal := contract.InternalNetwork(slug)
		netInfo, err := dockerClient(t).NetworkInfo(internal)
		assert.NilError(t, err)
		for id := range netInfo.Containers {
			c, err := dockerClient(t).InspectContainer(id)
			assert.NilError(t, err)
			for _, a := range c.NetworkSettings.Networks[internal].Aliases {
				assert.Assert(t, !strings.Contains(a, "pipelock"), "%s carries alias %s on the agent's network", c.Name, a)
			}
		}
		out, code := agentExec(t, rig, "curl -sS --max-time 10 -x http://pipelock:8888 http://"+itest.AllowedHost+"/ -w '\\nHTTP %{http_code}\\n' 2>&1")
		assert.Assert(t, code != 0 && strings.Contains(out, "HTTP 000") && (strings.Contains(out, "Could not resolve proxy: pipelock") || strings.Contains(out, "Resolving timed out")), "%d %s", code, out)
		// By address: every address pipelock has, on every network.
		info, err := dockerClient(t).InspectContainer(rig.SidecarFor(contract.Pipelock))
		assert.NilError(t, err)
		var script strings.Builder
		for netName, n := range info.NetworkSettings.Networks {
			fmt.Fprintf(&script, "echo \"== %s %s: $(timeout 8 bash -c 'exec 3<>/dev/tcp/%s/8888 && echo CONNECTED' 2>&1 | tr '\\n' ' ')\"\n", netName, n.IPAddress, n.IPAddress)
		}
		out, _ = agentExec(t, rig, script.String())
		t.Logf("agent → pipelock by address:\n%s", out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		assert.Equal(t, len(lines), len(info.NetworkSettings.Networks), out)
		for _, l := range lines {
			// Provably no path: the kernel says so, or nothing listens on
			// the one address the agent can reach (the bundle's, whose
			// pipelock is on loopback). Never a proxy's answer.
			assert.Assert(t, strings.Contains(l, "No route to host") || strings.Contains(l, "Connection refused") || strings.Contains(l, "Network is unreachable"), "agent reached pipelock: %s", l)
			assert.Assert(t, !strings.Contains(l, "CONNECTED"), l)
		}
	})

	t.Run("plain HTTP to an auth route is refused and nothing is injected", func(t *testing.T) {
		marker := fmt.Sprintf("/cleartext-%d", rand.IntN(1e9))
		out, code := agentExec(t, rig, "curl -sS --max-time 10 -H 'Authorization: Bearer agent-made-up' -w '\\nHTTP %{http_code}\\n' http://"+itest.AuthHost+marker+" 2>&1")
		assert.Equal(t, code, 0, out)
		assert.Assert(t, is.Contains(out, "egress: route "+itest.AuthHost+" carries a credential; use https"), out)
		assert.Assert(t, is.Contains(out, "HTTP 403"), out)
		// Control: over TLS the credential is injected.
		out, code = agentExec(t, rig, "curl -sS --max-time 15 -o /dev/null -w '%{http_code}\\n' https://"+itest.AuthHost+marker+"-tls")
		assert.Equal(t, code, 0, out)
		assert.Equal(t, strings.TrimSpace(out), "200")
		recs, err := standin.ParseRecords(rig.Internet.Logs(t))
		assert.NilError(t, err)
		sawTLS := false
		for _, rec := range recs {
			if rec.Kind != "http" {
				continue
			}
			assert.Assert(t, rec.URI != marker, "the cleartext request reached the stand-in: %+v", rec)
			if rec.URI == marker+"-tls" {
				sawTLS = slices.Contains(rec.Headers["Authorization"], "Bearer "+isolationRouteToken)
			}
			if !strings.HasPrefix(rec.URI, marker+"-tls") {
				assert.Assert(t, len(rec.Headers["Authorization"]) == 0 || rec.Host == itest.AuthHost, "Authorization outside the TLS route: %+v", rec)
			}
		}
		assert.Assert(t, sawTLS, "control: the TLS request to the auth route did not arrive with its credential")
	})

	t.Run("memory past the limit kills the allocation, sidecars keep serving", func(t *testing.T) {
		// 400 MB in one bash variable, in a 192 MB agent.
		out, code := agentExec(t, rig, `x=$(head -c 400000000 /dev/zero | tr '\0' a); echo "survived ${#x}"`)
		t.Logf("allocation: exit %d %s", code, strings.TrimSpace(out))
		assert.Assert(t, !strings.Contains(out, "survived 400000000"), "the agent held 400 MB under a 192 MB limit")
		assert.Assert(t, code == 137 || code == 1, "want the allocating process killed, got exit %d: %s", code, out)
		assertServing(t, rig, "after-oom")
	})

	t.Run("a fork storm stops at the pids limit", func(t *testing.T) {
		// 300 processes that live 15 s, in an agent limited to 96 tasks: the
		// shell's forks fail at the limit (dash gives up at once).
		out, code := agentExec(t, rig, `i=0; while [ $i -lt 300 ]; do sleep 15 & i=$((i+1)); done; echo all-started`)
		t.Logf("fork storm: exit %d %s", code, strings.TrimSpace(out))
		assert.Assert(t, !strings.Contains(out, "all-started"), "300 processes started under a limit of 96")
		pids := containerPids(t, env, agent)
		assert.Assert(t, pids <= 96, "the agent holds %d tasks past its limit of 96", pids)
		assert.Assert(t, pids >= 80, "the storm did not reach the limit (%d tasks): the test proves nothing", pids)
		// The sidecars, in their own containers and limits, are unaffected
		// while the agent is full...
		for _, d := range rig.Plan.Metadata.Daemons {
			out, code, err := rig.Eng.Exec(t.Context(), rig.SidecarFor(d), "", []string{contract.InitdBinary, "health"})
			assert.NilError(t, err)
			assert.Equal(t, code, 0, "%s during the storm: %s", d, out)
		}
		// ...and serve the agent again once its processes are gone.
		deadline := time.Now().Add(40 * time.Second)
		for containerPids(t, env, agent) > 10 && time.Now().Before(deadline) {
			time.Sleep(time.Second)
		}
		assertServing(t, rig, "after-fork-storm")
	})
}

// containerPids reads the number of tasks in a container from the engine.
func containerPids(t *testing.T, env *itest.Env, name string) uint64 {
	t.Helper()
	ch := make(chan *dc.Stats, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- dockerClient(t).Stats(dc.StatsOptions{ID: name, Stats: ch, Stream: false, Timeout: 20 * time.Second})
	}()
	var s *dc.Stats
	for st := range ch {
		s = st
	}
	assert.NilError(t, <-errc)
	assert.Assert(t, s != nil)
	return s.PidsStats.Current
}

// assertServing proves the sidecars still serve the agent: an allowed
// HTTPS request goes through egress and pipelock to the stand-in.
func assertServing(t *testing.T, rig *itest.Rig, tag string) {
	t.Helper()
	out, code := agentExec(t, rig, "curl -sS --max-time 20 -o /dev/null -w '%{http_code}\\n' https://"+itest.AllowedHost+"/"+tag)
	assert.Equal(t, code, 0, out)
	assert.Equal(t, strings.TrimSpace(out), "200", "the sidecars stopped serving (%s)", tag)
	for _, d := range rig.Plan.Metadata.Daemons {
		info, err := sdk(t).ContainerInspect(t.Context(), rig.SidecarFor(d))
		assert.NilError(t, err)
		assert.Assert(t, info.State.Running && !info.State.OOMKilled, "%s: running %v oom %v", d, info.State.Running, info.State.OOMKilled)
	}
}

// TestARPSpoofingSniffer runs an attacker WITH raw sockets (CAP_NET_RAW,
// CAP_NET_ADMIN, forwarding on) on the agent's network: arpspoof poisons
// the agent and egress (each thinks the attacker is the other), tcpdump
// records everything that then flows through it. Control: the sniffer
// does capture a cleartext marker the agent sends to egress. Then the
// agent makes requests through egress to an auth route and an allowed
// host, and neither pipelock's proxy credential nor the route's token
// appears in the capture: they never cross the agent's network.
func TestARPSpoofingSniffer(t *testing.T) {
	env := itest.Require(t)
	rig := isolationRig(t, env)
	slug := rig.Plan.Slug
	root, err := images.SourceRoot(".", itest.LookupEnv)
	assert.NilError(t, err)
	ctx := context.Background()
	if _, err := images.Build(ctx, rig.Eng.Engine, images.SnifferTest(), images.BuildOptions{Root: root}); err != nil {
		t.Fatalf("build %s: %v", images.SnifferTestImage, err)
	}
	internal := contract.InternalNetwork(slug)
	ip := func(container string) string {
		info, err := dockerClient(t).InspectContainer(container)
		assert.NilError(t, err)
		n := info.NetworkSettings.Networks[internal]
		assert.Assert(t, n.IPAddress != "", "%s has no address on %s", container, internal)
		return n.IPAddress
	}
	agentIP, egressIP := ip(contract.AgentContainer(slug)), ip(rig.SidecarFor(contract.Egress))
	sniffer := env.Run(t, itest.RunSpec{Name: "sniffer", Image: images.SnifferTestImage, Network: internal, User: "0",
		CapAdd: []string{"NET_RAW", "NET_ADMIN"}, Sysctls: map[string]string{"net.ipv4.ip_forward": "1"}})
	res := sniffer.Exec(t, fmt.Sprintf(`set -e
tcpdump -i eth0 -nn -s0 -U -w /tmp/cap.pcap 'not arp' >/tmp/tcpdump.log 2>&1 &
arpspoof -i eth0 -t %[1]s -r %[2]s >/tmp/arpspoof.log 2>&1 &
sleep 4
cat /sys/class/net/eth0/address`, agentIP, egressIP))
	assert.Equal(t, res.Code, 0, res.Stdout+res.Stderr)
	snifferMAC := strings.TrimSpace(res.Stdout)

	// Control 1: the agent's ARP entry for egress now names the attacker.
	out, _ := agentExec(t, rig, "curl -s --max-time 5 -o /dev/null http://egress:9099/ ; cat /proc/net/arp")
	assert.Assert(t, is.Contains(out, snifferMAC), "ARP poisoning did not take: egress %s, sniffer %s:\n%s", egressIP, snifferMAC, out)

	marker := fmt.Sprintf("CONTROL-%d-cleartext", rand.IntN(1e9))
	script := `set -x
curl -sS --max-time 15 -o /dev/null -w '%{http_code}\n' -H 'X-Control: ` + marker + `' http://egress:9099/control
curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' https://` + itest.AuthHost + `/with-credential
curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' https://` + itest.AllowedHost + `/plain-tls
curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' http://` + itest.AllowedHost + `/plain-http
curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' http://` + itest.AuthHost + `/cleartext
`
	out, code := agentExec(t, rig, script)
	t.Logf("agent requests under ARP spoofing:\n%s", out)
	assert.Equal(t, code, 0, out)
	assert.Assert(t, is.Contains(out, "200\n"), "requests through the spoofed path must still work (forwarded by the attacker): %s", out)

	res = sniffer.Exec(t, "sleep 1; pkill tcpdump; pkill arpspoof; sleep 1; tcpdump -r /tmp/cap.pcap -nn -A 2>/dev/null; echo; echo PACKETS $(tcpdump -r /tmp/cap.pcap -nn 2>/dev/null | wc -l)")
	capture := res.Stdout
	t.Logf("capture: %s", capture[strings.LastIndex(capture, "PACKETS"):])
	// Control 2: the sniffer sees cleartext on the agent's network.
	assert.Assert(t, is.Contains(capture, marker), "control: the sniffer did not capture the agent's cleartext request; the test proves nothing")
	assert.Assert(t, is.Contains(capture, "X-Control"), "control")

	proxyAuth, err := os.ReadFile(filepath.Join(rig.Layout.DaemonDir(slug, contract.Egress), contract.UpstreamAuth))
	assert.NilError(t, err)
	secrets := map[string]string{
		"route token":             isolationRouteToken,
		"proxy credential":        strings.TrimSpace(string(proxyAuth)),
		"proxy credential base64": base64.StdEncoding.EncodeToString([]byte(strings.TrimSpace(string(proxyAuth)))),
	}
	for what, s := range secrets {
		assert.Assert(t, !strings.Contains(capture, s), "the sniffer captured the %s", what)
	}
	assert.Assert(t, !strings.Contains(strings.ToLower(capture), "proxy-authorization"), "a Proxy-Authorization header crossed the agent's network")
	assert.Assert(t, !strings.Contains(capture, "Bearer "+isolationRouteToken[:8]), "an injected credential crossed the agent's network")
}

// TestCapabilityBuildUsesTheBottlesNetwork: a capability Dockerfile whose
// RUN line fetches a host that is not allowlisted fails with egress'
// message — the build ran on the bottle's network behind its proxies, not
// on the default bridge — and the agent is left as it was.
func TestCapabilityBuildUsesTheBottlesNetwork(t *testing.T) {
	env := itest.Require(t)
	rig := isolationRig(t, env)
	slug := rig.Plan.Slug
	before, err := dockerClient(t).InspectContainer(contract.AgentContainer(slug))
	assert.NilError(t, err)
	df := "ARG " + contract.AgentBaseArg + "\nFROM ${" + contract.AgentBaseArg + "}\n" +
		"RUN curl -sS --max-time 20 --fail-with-body https://denied.example.com/install.sh\n"
	_, _, err = rig.Eng.RebuildAgent(t.Context(), slug, df)
	assert.Assert(t, err != nil, "the build fetched a host that is not allowlisted")
	t.Logf("rebuild error: %v", err)
	assert.Assert(t, is.ErrorContains(err, "egress: host denied.example.com is not on this bottle's allowlist"))
	after, err := dockerClient(t).InspectContainer(contract.AgentContainer(slug))
	assert.NilError(t, err)
	assert.Equal(t, after.ID, before.ID, "a failed build must leave the agent untouched")

	// Control: an allowlisted host is fetched by the same kind of build,
	// through egress and pipelock, trusting the bottle CA.
	df = "ARG " + contract.AgentBaseArg + "\nFROM ${" + contract.AgentBaseArg + "}\n" +
		"RUN curl -sS --max-time 20 --fail-with-body https://" + itest.AllowedHost + "/capability-build -o /usr/local/share/fetched && test -s /usr/local/share/fetched\n"
	_, tag, err := rig.Eng.RebuildAgent(t.Context(), slug, df)
	assert.NilError(t, err)
	t.Logf("rebuilt agent from %s", tag)
	recs, err := standin.ParseRecords(rig.Internet.Logs(t))
	assert.NilError(t, err)
	assert.Assert(t, slices.ContainsFunc(recs, func(r standin.Record) bool { return r.Kind == "http" && r.URI == "/capability-build" }),
		"control: the build's request did not reach the stand-in through the bottle's proxies")
	out, code := agentExec(t, rig, "test -s /usr/local/share/fetched && id -un && grep CapEff /proc/self/status")
	assert.Equal(t, code, 0, out)
	assert.Assert(t, is.Contains(out, "agent\n"), "the rebuilt agent runs as its user again: %s", out)
	assert.Assert(t, is.Contains(out, "CapEff:\t0000000000000000"), out)
}

// TestIsolationProbeControl: the probe up runs is not blind. In a
// container on the default bridge, beside a host listener, it reports the
// host address it reached; on an internal network it reports nothing.
func TestIsolationProbeControl(t *testing.T) {
	env := itest.Require(t)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	eng, err := lifecycle.Connect(t.Context())
	assert.NilError(t, err)
	defer func() { _ = eng.Close() }()
	hits := listenAll(t)
	control := env.Run(t, itest.RunSpec{Name: "probe-control", Image: images.AgentTestImage, Network: "bridge"})
	gw := control.Gateway["bridge"]
	opts := lifecycle.ProbeOptions{Hosts: []string{gw}, Ports: []int{hits.port}, Wait: lifecycle.UpProbeWait}
	res, err := eng.Probe(t.Context(), control.ID, opts)
	assert.NilError(t, err)
	assert.Assert(t, is.ErrorContains(res.Err(), "reached "+net.JoinHostPort(gw, fmt.Sprint(hits.port))))

	internal := env.InternalNetwork(t, "probe-internal")
	isolated := env.Run(t, itest.RunSpec{Name: "probe-isolated", Image: images.AgentTestImage, Network: internal.Name})
	hosts, resolvers := eng.ProbeTargets(t.Context(), []string{internal.Name}, true)
	opts = lifecycle.ProbeOptions{Hosts: append(hosts, gw), Ports: append(lifecycle.ProbePorts(true), hits.port), Resolvers: resolvers, Wait: lifecycle.UpProbeWait}
	res, err = eng.Probe(t.Context(), isolated.ID, opts)
	assert.NilError(t, err)
	assert.NilError(t, res.Err())
	t.Logf("probe of %d hosts × %d ports and %d resolvers in %s", len(opts.Hosts), len(opts.Ports), len(resolvers), res.Elapsed)
}

// BenchmarkUpIsolationCheck measures the probe `up` runs before it reports
// a bottle ready (budget: 300 ms p50), in the shape of
// CLAUDE_BOTTLE_SIDECAR_BUNDLE.
func BenchmarkUpIsolationCheck(b *testing.B) {
	env := itest.Require(b)
	env.RequireImage(b, images.AgentTestImage, "build:agentTest")
	env.RequireImage(b, contract.SidecarImage(itest.LookupEnv), "build:sidecars")
	rig := env.StandinRig(b, itest.RigOptions{Shape: contract.ShapeFromEnv(itest.LookupEnv), Quiet: true, Manifest: `name = "isobench"
image = "` + images.AgentTestImage + `"
[[egress.routes]]
host = "` + itest.AllowedHost + `"
[supervise]
enabled = true
`})
	ctx := context.Background()
	opts := rig.Eng.BottleProbe(ctx, rig.Plan, false)
	agent := contract.AgentContainer(rig.Plan.Slug)
	var times, execs []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := rig.Eng.Probe(ctx, agent, opts)
		times = append(times, time.Since(start))
		if err != nil || res.Err() != nil {
			b.Fatalf("probe: %v %v", err, res.Err())
		}
		// The engine's own cost of one exec, for scale: the probe is one
		// exec plus its wait (UpProbeWait) plus its forks.
		start = time.Now()
		if _, _, err := rig.Eng.Exec(ctx, agent, "", []string{"true"}); err != nil {
			b.Fatal(err)
		}
		execs = append(execs, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	slices.Sort(execs)
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(times[len(times)*9/10].Milliseconds()), "p90-ms")
	b.ReportMetric(float64(execs[len(execs)/2].Milliseconds()), "exec-true-p50-ms")
}
