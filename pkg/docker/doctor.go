package docker

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/names"
)

// ServerVersion returns the engine's version string alone (e.g.
// "20.10.24+dfsg1"), as KnownBugs reads it.
func (e *Engine) ServerVersion(ctx context.Context) (string, error) {
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	return v.Version, nil
}

// Version returns the engine's version and API version.
func (e *Engine) Version(ctx context.Context) (string, error) {
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	return v.Version + " (API " + v.APIVersion + ")", nil
}

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
func (e *Engine) CheckIsolation(ctx context.Context, image string) (IsolationReport, error) {
	var rep IsolationReport
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	netName := "claude-bottle-doctor-" + suffix
	ipv6 := false
	created, err := e.api.NetworkCreate(ctx, netName, network.CreateOptions{Driver: "bridge", Internal: true, EnableIPv6: &ipv6,
		Options: map[string]string{names.InhibitIPv4: "true"}, Labels: map[string]string{"dev.claude-bottle.doctor": "1"}})
	if err != nil {
		return rep, fmt.Errorf("create a test network: %w", err)
	}
	defer func() { _ = e.api.NetworkRemove(context.WithoutCancel(ctx), created.ID) }()
	hosts, resolvers := e.ProbeTargets(ctx, []string{netName}, true)
	opts := ProbeOptions{Hosts: hosts, Ports: ProbePorts(true), Resolvers: resolvers, Wait: DoctorProbeWait}

	run := func(name string, hc *container.HostConfig, full bool) (ProbeResult, error) {
		hc.NetworkMode = container.NetworkMode(netName)
		c, err := e.api.ContainerCreate(ctx, &container.Config{Image: image, Cmd: []string{"sleep", "60"}, Labels: map[string]string{"dev.claude-bottle.doctor": "1"}},
			hc, nil, nil, "claude-bottle-doctor-"+name+"-"+suffix)
		if err != nil {
			return ProbeResult{}, fmt.Errorf("create a test container from %s: %w", image, err)
		}
		defer func() {
			_ = e.api.ContainerRemove(context.WithoutCancel(ctx), c.ID, container.RemoveOptions{Force: true})
		}()
		if err := e.api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			return ProbeResult{}, err
		}
		o := opts
		o.Full = full
		return e.Probe(ctx, c.ID, o)
	}
	if rep.Engine, err = run("plain", &container.HostConfig{}, false); err != nil {
		return rep, err
	}
	hc := &container.HostConfig{CapDrop: []string{compose.CapAll}, SecurityOpt: []string{compose.NoNewPrivileges}, DNS: []string{compose.AgentDNS},
		Sysctls: map[string]string{"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}}
	rep.Bottle, err = run("agent", hc, true)
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
