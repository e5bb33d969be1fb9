package docker

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/claude-bottle/claude-bottle/pkg/names"
)

// Version returns the engine's version and API version.
func (e *Engine) Version(ctx context.Context) (string, error) {
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return "", err
	}
	return v.Version + " (API " + v.APIVersion + ")", nil
}

// CheckIsolation proves on this engine what every bottle relies on: a
// container on an internal network created with inhibit_ipv4 reaches no
// host address over TCP and resolves no outside name. It runs image (which
// needs bash and getent) on a throwaway network and removes both.
func (e *Engine) CheckIsolation(ctx context.Context, image string) error {
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	netName := "claude-bottle-doctor-" + suffix
	created, err := e.api.NetworkCreate(ctx, netName, network.CreateOptions{Driver: "bridge", Internal: true,
		Options: map[string]string{names.InhibitIPv4: "true"}, Labels: map[string]string{"dev.claude-bottle.doctor": "1"}})
	if err != nil {
		return fmt.Errorf("create a test network: %w", err)
	}
	defer func() { _ = e.api.NetworkRemove(context.WithoutCancel(ctx), created.ID) }()
	c, err := e.api.ContainerCreate(ctx, &container.Config{Image: image, Cmd: []string{"sleep", "60"}, Labels: map[string]string{"dev.claude-bottle.doctor": "1"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(netName)}, nil, nil, "claude-bottle-doctor-"+suffix)
	if err != nil {
		return fmt.Errorf("create a test container from %s: %w", image, err)
	}
	defer func() {
		_ = e.api.ContainerRemove(context.WithoutCancel(ctx), c.ID, container.RemoveOptions{Force: true})
	}()
	if err := e.api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return err
	}
	info, err := e.api.NetworkInspect(ctx, created.ID, network.InspectOptions{})
	if err != nil {
		return err
	}
	targets := hostIPv4s()
	for _, cfg := range info.IPAM.Config {
		if cfg.Gateway != "" {
			targets = append(targets, cfg.Gateway)
		}
	}
	var script strings.Builder
	for _, ip := range targets {
		for _, port := range []string{"22", "80", "443", "2375", "8080"} {
			fmt.Fprintf(&script, "(timeout 2 bash -c 'exec 3<>/dev/tcp/%s/%s' 2>/dev/null && echo OPEN %s:%s) &\n", ip, port, ip, port)
		}
	}
	script.WriteString("(timeout 5 getent ahostsv4 deb.debian.org >/dev/null 2>&1 && echo RESOLVED deb.debian.org) &\nwait\n")
	out, _, err := e.Exec(ctx, c.ID, "", []string{"bash", "-c", script.String()})
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "" {
		return fmt.Errorf("an internal network is NOT isolated on this engine:\n%s\n(the host's firewall or the engine version lets containers out; do not run bottles here)", strings.TrimSpace(out))
	}
	return nil
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
