package lifecycle

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// UpProbeWait bounds up's isolation check. Whatever is reachable answers
// well within it (a host port on the local bridge in under a millisecond, a
// resolver in tens); an isolated bottle gives no answer at all, so the
// check takes this long plus the exec. doctor waits longer.
const UpProbeWait = 150 * time.Millisecond

// BottleProbe is the probe up runs in a new bottle's agent: no host
// address (nor the metadata address) reachable, no outside resolver
// answering, pipelock out of reach, and the sidecars the agent works with
// reachable by their aliases. Full adds IPv6 and the agent's privileges.
func (e *Backend) BottleProbe(ctx context.Context, plan *bottle.Plan, full bool) ProbeOptions {
	var nets []string
	for _, n := range plan.Project.Networks {
		nets = append(nets, n.Name)
	}
	hosts, resolvers := e.ProbeTargets(ctx, nets, full)
	opts := ProbeOptions{Hosts: hosts, Ports: ProbePorts(full), Resolvers: resolvers, Wait: UpProbeWait, Full: full}
	pipelockPort := strconv.Itoa(contract.Port(contract.Pipelock))
	opts.Refuse = []string{net.JoinHostPort(contract.Pipelock, pipelockPort), net.JoinHostPort(contract.Egress, pipelockPort)}
	for _, d := range compose.Daemons(plan.Bottle.Manifest) {
		if d != contract.Pipelock {
			opts.Reach = append(opts.Reach, net.JoinHostPort(d, strconv.Itoa(contract.Port(d))))
		}
	}
	return opts
}

// EngineVerdict decides whether a bottle whose agent has resolvers dns may
// run on an engine of version: each known bug of the version must be
// mitigated by the bottle or allowed by the operator's override (the value
// of AllowEngineBugEnv). notes are the lines to print either way.
func EngineVerdict(version string, dns []string, override string) (notes []string, err error) {
	for _, bug := range KnownBugs(version) {
		switch {
		case bug.ID == CVE202429018.ID && DNSMitigated(dns):
			notes = append(notes, fmt.Sprintf("engine %s has %s: mitigated (the agent's DNS forwards only to %s, which has no route)",
				version, bug.ID, strings.Join(dns, ", ")))
		case allowedBug(override, bug):
			notes = append(notes, fmt.Sprintf("WARNING: engine %s has %s and this bottle is not mitigated; allowed by %s", version, bug.ID, AllowEngineBugEnv))
		default:
			return notes, fmt.Errorf("engine %s has a known isolation bug, %s, and this bottle is not mitigated against it: "+
				"upgrade the engine, or, if your engine build carries the fix, set %s=%s", version, bug, AllowEngineBugEnv, bug.ID)
		}
	}
	return notes, nil
}

// checkBottle is up's last step before it reports success: the engine's
// known isolation bugs are refused unless the bottle is mitigated against
// them (or the operator overrode it), and a fast probe from inside the
// agent proves the bottle isolated.
func (e *Backend) checkBottle(ctx context.Context, plan *bottle.Plan, agentID string, out io.Writer) error {
	v, err := e.ServerVersion(ctx)
	if err != nil {
		return fmt.Errorf("isolation check: engine version: %w", err)
	}
	info, err := e.InspectContainer(ctx, agentID)
	if err != nil {
		return fmt.Errorf("isolation check: inspect the agent: %w", err)
	}
	notes, err := EngineVerdict(v, info.Spec.DNS, e.AllowEngineBug)
	for _, n := range notes {
		fmt.Fprintln(out, n)
	}
	if err != nil {
		return err
	}
	res, err := e.Probe(ctx, agentID, e.BottleProbe(ctx, plan, false))
	if err != nil {
		return err
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("isolation check of %s: %w", plan.Slug, err)
	}
	fmt.Fprintf(out, "isolation checked in %d ms: no host address, no outside resolver, no pipelock; sidecars reachable\n", res.Elapsed.Milliseconds())
	return nil
}
