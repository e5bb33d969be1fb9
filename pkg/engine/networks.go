package engine

import (
	"context"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// NetworkSpec is a network to create.
type NetworkSpec struct {
	Name   string
	Driver string // "" = the engine's default (bridge)
	// Internal networks have no route out of the engine's host.
	Internal bool
	// EnableIPv6 is always sent, never left to the engine's default.
	EnableIPv6 bool
	// Options are the driver's options (e.g. names.InhibitIPv4).
	Options map[string]string
	Labels  map[string]string
	// Subnets are the IPAM pools ("" entries and none: the engine picks).
	Subnets []string
}

// CreateNetwork creates a network and returns its ID.
func (e *Engine) CreateNetwork(ctx context.Context, spec NetworkSpec) (string, error) {
	ipv6 := spec.EnableIPv6
	opts := network.CreateOptions{Driver: spec.Driver, Internal: spec.Internal, EnableIPv6: &ipv6, Options: spec.Options, Labels: spec.Labels}
	if spec.Subnets != nil {
		opts.IPAM = &network.IPAM{}
		for _, s := range spec.Subnets {
			opts.IPAM.Config = append(opts.IPAM.Config, network.IPAMConfig{Subnet: s})
		}
	}
	created, err := e.api.NetworkCreate(ctx, spec.Name, opts)
	if err != nil {
		return "", err
	}
	return created.ID, nil
}

// ConnectNetwork joins container id to network, with aliases there.
func (e *Engine) ConnectNetwork(ctx context.Context, netName, id string, aliases []string) error {
	return e.api.NetworkConnect(ctx, netName, id, &network.EndpointSettings{Aliases: aliases})
}

// RemoveNetwork removes a network by ID or name.
func (e *Engine) RemoveNetwork(ctx context.Context, id string) error {
	return e.api.NetworkRemove(ctx, id)
}

// Network is a network as a listing shows it.
type Network struct {
	ID, Name string
	Labels   map[string]string
	// Subnets are the network's IPAM pools.
	Subnets []string
}

// ListNetworks lists the networks carrying label (a key, or key=value),
// or every network when label is "".
func (e *Engine) ListNetworks(ctx context.Context, label string) ([]Network, error) {
	args := filters.NewArgs()
	if label != "" {
		args.Add("label", label)
	}
	nets, err := e.api.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		return nil, err
	}
	out := make([]Network, 0, len(nets))
	for _, n := range nets {
		nw := Network{ID: n.ID, Name: n.Name, Labels: n.Labels}
		for _, c := range n.IPAM.Config {
			nw.Subnets = append(nw.Subnets, c.Subnet)
		}
		out = append(out, nw)
	}
	return out, nil
}

// NetworkGateways returns the gateway addresses of a network's IPAM pools.
func (e *Engine) NetworkGateways(ctx context.Context, name string) ([]string, error) {
	info, err := e.api.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range info.IPAM.Config {
		out = append(out, c.Gateway)
	}
	return out, nil
}
