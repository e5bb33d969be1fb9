package lifecycle

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// DoctorProbeWait bounds each probe of doctor's full check: long enough
// for a slow outside resolver to answer, if one can be reached.
const DoctorProbeWait = 2 * time.Second

// IsolationReport is what doctor's full probe found on this engine.
type IsolationReport struct {
	// Engine is a plain container on an internal network (the engine's
	// own behaviour, CVE-2024-29018 included).
	Engine ProbeResult
	// Bottle is a container hardened like a bottle's agent (no
	// capabilities, no_new_privs, IPv6 off, the agent's DNS): IPv6 and
	// privileges are probed too.
	Bottle ProbeResult
}

// CheckIsolation proves on this engine what every bottle relies on: a
// container on an internal network created with inhibit_ipv4 (and IPv6
// off) reaches no host address, the metadata address or the default
// bridge's gateway over TCP, and no outside resolver answers it — first as
// a plain container (the engine's own behaviour), then hardened like an
// agent, which must also have no IPv6 address, no capability and
// no_new_privs. It runs image (which needs bash) on a throwaway network
// and removes both.
func (e *Backend) CheckIsolation(ctx context.Context, image string) (IsolationReport, error) {
	var rep IsolationReport
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	netName := "claude-bottle-doctor-" + suffix
	netID, err := e.CreateNetwork(ctx, engine.NetworkSpec{Name: netName, Driver: "bridge", Internal: true, EnableIPv6: false,
		Options: map[string]string{contract.InhibitIPv4: "true"}, Labels: map[string]string{"dev.claude-bottle.doctor": "1"}})
	if err != nil {
		return rep, fmt.Errorf("create a test network: %w", err)
	}
	defer func() { _ = e.RemoveNetwork(context.WithoutCancel(ctx), netID) }()
	hosts, resolvers := e.ProbeTargets(ctx, []string{netName}, true)
	opts := ProbeOptions{Hosts: hosts, Ports: ProbePorts(true), Resolvers: resolvers, Wait: DoctorProbeWait}

	run := func(name string, spec engine.ContainerSpec, full bool) (ProbeResult, error) {
		spec.Name = "claude-bottle-doctor-" + name + "-" + suffix
		spec.Image, spec.Cmd, spec.Labels = image, []string{"sleep", "60"}, map[string]string{"dev.claude-bottle.doctor": "1"}
		spec.NetworkMode = netName
		id, err := e.CreateContainer(ctx, spec)
		if err != nil {
			return ProbeResult{}, fmt.Errorf("create a test container from %s: %w", image, err)
		}
		defer func() {
			_ = e.RemoveContainer(context.WithoutCancel(ctx), id, engine.RemoveContainerOptions{Force: true})
		}()
		if err := e.StartContainer(ctx, id); err != nil {
			return ProbeResult{}, err
		}
		o := opts
		o.Full = full
		return e.Probe(ctx, id, o)
	}
	if rep.Engine, err = run("plain", engine.ContainerSpec{}, false); err != nil {
		return rep, err
	}
	hardened := engine.ContainerSpec{CapDrop: []string{compose.CapAll}, SecurityOpt: []string{compose.NoNewPrivileges}, DNS: []string{compose.AgentDNS},
		Sysctls: map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}}
	rep.Bottle, err = run("agent", hardened, true)
	return rep, err
}

func hostIPv4s() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			out = append(out, ipn.IP.String())
		}
	}
	return out
}
