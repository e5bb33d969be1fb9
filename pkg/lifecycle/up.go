package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// Compose's own labels, so `docker compose -p claude-bottle-<slug>` sees
// the project this backend brought up.
const (
	labelComposeProject = "com.docker.compose.project"
	labelComposeService = "com.docker.compose.service"
)

// HealthTimeout bounds the wait for the sidecars to become healthy.
const HealthTimeout = 90 * time.Second

// Up brings a staged plan up from its typed compose model, in compose's
// order: networks, sidecars (waiting until healthy), agent, then provisions
// the agent (bottle CA in its trust store, git insteadOf rules). tokenEnv
// holds the EGRESS_TOKEN_<n>=value entries (never written to disk). Progress
// lines go to out. On any failure every container and network created is
// removed again; the state directory stays, holding compose.log with every
// container's output (claude-bottle down or cleanup removes it).
func (e *Backend) Up(ctx context.Context, plan *bottle.Plan, tokenEnv []string, out io.Writer) (err error) {
	p := plan.Project
	t0 := time.Now()
	defer func() {
		if err != nil {
			fmt.Fprintf(out, "bring-up failed; removing its containers and networks (logs: %s; claude-bottle down %s removes them too)\n",
				filepath.Join(plan.Layout.StateDir(plan.Slug), statedir.ComposeLog), plan.Slug)
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_ = e.removeBottle(cctx, plan.Layout, plan.Slug, false)
		}
	}()
	for _, key := range sortedKeys(p.Networks) {
		n := p.Networks[key]
		labels := withLabels(n.Labels, map[string]string{labelComposeProject: p.Name})
		// EnableIPv6 is false for every bottle network: sent explicitly,
		// never left to the daemon's default.
		spec := engine.NetworkSpec{Name: n.Name, Driver: n.Driver, Internal: n.Internal, EnableIPv6: n.EnableIPv6, Options: n.DriverOpts, Labels: labels}
		if n.IPAM != nil {
			spec.Subnets = []string{}
			for _, c := range n.IPAM.Config {
				spec.Subnets = append(spec.Subnets, c.Subnet)
			}
		}
		if _, err := e.CreateNetwork(ctx, spec); err != nil {
			return fmt.Errorf("create network %s: %w", n.Name, err)
		}
	}
	if err := e.checkpoint(ctx, "networks"); err != nil {
		return err
	}
	if err := e.agentUser(ctx, plan, out); err != nil {
		return err
	}
	tokens := map[string]string{}
	for _, kv := range tokenEnv {
		k, v, _ := strings.Cut(kv, "=")
		tokens[k] = v
	}
	var sidecars []string
	for _, name := range sortedKeys(p.Services) {
		if name == compose.AgentService {
			continue
		}
		id, err := e.createService(ctx, p, name, tokens)
		if err != nil {
			return err
		}
		sidecars = append(sidecars, id)
	}
	if err := e.checkpoint(ctx, "sidecars-created"); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(out, "starting %d sidecar container(s)\n", len(sidecars))
	for _, id := range sidecars {
		if err := e.StartContainer(ctx, id); err != nil {
			return fmt.Errorf("start sidecar: %w", err)
		}
	}
	if err := e.checkpoint(ctx, "sidecars-started"); err != nil {
		return err
	}
	for _, id := range sidecars {
		if err := e.waitHealthy(ctx, id, start.Add(HealthTimeout)); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "sidecars healthy in %.1fs\n", time.Since(start).Seconds())
	if err := e.checkpoint(ctx, "sidecars-healthy"); err != nil {
		return err
	}
	agentID, err := e.createService(ctx, p, compose.AgentService, tokens)
	if err != nil {
		return err
	}
	if err := e.checkpoint(ctx, "agent-created"); err != nil {
		return err
	}
	if err := e.StartContainer(ctx, agentID); err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	if err := e.checkpoint(ctx, "agent-started"); err != nil {
		return err
	}
	if err := e.provision(ctx, plan, agentID, out); err != nil {
		return err
	}
	if err := e.checkpoint(ctx, "provisioned"); err != nil {
		return err
	}
	if err := e.checkBottle(ctx, plan, agentID, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "bottle %s is up (%s shape) in %.1fs: agent %s\n", plan.Slug, plan.Shape, time.Since(t0).Seconds(), contract.AgentContainer(plan.Slug))
	return nil
}

func (e *Backend) createService(ctx context.Context, p *compose.Project, name string, tokens map[string]string) (string, error) {
	s := p.Services[name]
	var env []string
	for _, kv := range s.Environment {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			tv, found := tokens[k]
			if !found {
				return "", fmt.Errorf("service %s: %s has no value in the bring-up environment", name, k)
			}
			env = append(env, k+"="+tv)
			continue
		}
		env = append(env, k+"="+strings.ReplaceAll(v, "$$", "$"))
	}
	var binds []string
	for _, v := range s.Volumes {
		binds = append(binds, v.Bind())
	}
	spec := engine.ContainerSpec{
		Name: s.ContainerName, Image: s.Image, Hostname: s.Hostname, User: s.User, Env: env,
		Entrypoint: s.Entrypoint, Cmd: s.Command,
		Labels: withLabels(s.Labels, map[string]string{labelComposeProject: p.Name, labelComposeService: name}),
	}
	if grace, err := time.ParseDuration(s.StopGracePeriod); err == nil {
		secs := int(grace.Seconds())
		spec.StopTimeout = &secs
	}
	if h := s.Healthcheck; h != nil {
		hc := &engine.Healthcheck{Test: h.Test, Retries: h.Retries}
		hc.Interval, _ = time.ParseDuration(h.Interval)
		hc.Timeout, _ = time.ParseDuration(h.Timeout)
		hc.StartPeriod, _ = time.ParseDuration(h.StartPeriod)
		spec.Healthcheck = hc
	}
	init := s.Init
	netKeys := sortedKeys(s.Networks)
	if len(netKeys) == 0 {
		return "", fmt.Errorf("service %s has no network", name)
	}
	// The internal network first: it carries the aliases the agent dials.
	if slices.Contains(netKeys, compose.InternalNet) {
		netKeys = append([]string{compose.InternalNet}, slices.DeleteFunc(netKeys, func(k string) bool { return k == compose.InternalNet })...)
	}
	for _, k := range netKeys {
		spec.Networks = append(spec.Networks, engine.Attachment{Network: p.Networks[k].Name, Aliases: s.Networks[k].Aliases})
	}
	spec.Binds, spec.Init, spec.SecurityOpt, spec.DNS, spec.RestartPolicy = binds, &init, s.SecurityOpt, s.DNS, s.Restart
	applyHardening(&spec, s)
	return e.CreateContainer(ctx, spec)
}

// waitHealthy waits until the container's healthcheck passes. Besides the
// engine's own status (first probe one interval after start), it runs the
// healthcheck command itself every 100 ms, so a bottle is ready as soon as
// its daemons accept connections rather than on the engine's next tick.
func (e *Backend) waitHealthy(ctx context.Context, id string, deadline time.Time) error {
	for {
		info, err := e.InspectContainer(ctx, id)
		if err != nil {
			return err
		}
		name := info.Name
		switch {
		case !info.HasState:
		case info.RestartCount > 0 || info.Restarting:
			// A daemon that exits before the bottle was ever healthy has a
			// configuration problem; the restart policy will not fix it.
			return fmt.Errorf("%s stopped before it was healthy (exit code %d; restarted %d time(s)); see its logs", name, info.ExitCode, info.RestartCount)
		case !info.Running:
			return fmt.Errorf("%s stopped before it was healthy (exit code %d); see its logs", name, info.ExitCode)
		case info.Health == "" || info.Health == "healthy":
			return nil
		case info.Health == "unhealthy":
			return fmt.Errorf("%s is unhealthy; see its logs", name)
		}
		if hc := info.Spec.Healthcheck; hc != nil && len(hc.Test) > 1 && hc.Test[0] == "CMD" {
			out, code, err := e.Exec(ctx, id, "", hc.Test[1:])
			if err == nil && code == 0 {
				return nil
			}
			// The bundle's initd restarts a daemon that dies; during
			// bring-up that is a configuration problem: stop now.
			if line := initdLine(out); line != "" {
				for d, st := range parseInitd(line) {
					if st.state == "restarting" || st.state == "crash-looping" {
						return fmt.Errorf("%s stopped before it was healthy (%s exited and initd is restarting it); see its logs", name, d)
					}
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s was not healthy within %s", name, HealthTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// provision installs the bottle CA into the agent's trust store and maps
// each repo's upstream URL to git-gate.
func (e *Backend) provision(ctx context.Context, plan *bottle.Plan, id string, out io.Writer) error {
	script := ProvisionScript(plan)
	o, code, err := e.Exec(ctx, id, "0", []string{"sh", "-c", script})
	if err != nil {
		return fmt.Errorf("provision the agent (CA, gitconfig): %w", err)
	}
	if code != 0 {
		return &ProvisionError{Code: code, Output: strings.TrimSpace(o)}
	}
	us, user := UserProvisionScript(plan), ""
	if plan.AgentUserSetup != "" {
		us, user = plan.AgentUserSetup, plan.AgentUser
	}
	if us != "" {
		// As the agent's own user (empty: the image's USER): root in the
		// agent has no CAP_SETUID to switch users itself.
		o, code, err := e.Exec(ctx, id, user, []string{"sh", "-c", us})
		if err == nil && code != 0 && plan.AgentUserSetup != "" {
			return &ProvisionError{Code: code, Output: strings.TrimSpace(o)}
		}
		if err != nil || code != 0 {
			return fmt.Errorf("provision the agent (register supervise): exit %d: %s %v", code, strings.TrimSpace(o), err)
		}
	}
	if len(plan.Bottle.Git.Repos) > 0 {
		fmt.Fprintf(out, "agent provisioned: bottle CA trusted, %d repo(s) routed through git-gate\n", len(plan.Bottle.Git.Repos))
	} else {
		fmt.Fprintln(out, "agent provisioned: bottle CA trusted")
	}
	return nil
}

// ProvisionError is a provisioning script that failed in the agent.
type ProvisionError struct {
	Code   int
	Output string
}

func (e *ProvisionError) Error() string {
	return fmt.Sprintf("provision the agent (CA, gitconfig): exit %d: %s", e.Code, e.Output)
}

// ProvisionScript is the shell script that provisions a bottle's agent,
// run as uid 0 through the engine (`docker exec -u 0`): the bottle CA in the
// system trust store (appended to the bundle, and where
// update-ca-certificates will find it again), and git's identity and
// insteadOf rules routing each declared repo to git-gate. It needs no
// capability: uid 0 owns the files it writes, and the agent container has
// none to give (cap_drop ALL). Every value is single-quoted.
func ProvisionScript(plan *bottle.Plan) string {
	// The CA goes straight into the bundle every TLS stack of the image
	// reads (curl, git, OpenSSL, Go; Node and Python get the env vars):
	// update-ca-certificates would rebuild the whole store and took 1.2 s of
	// a 2 s bring-up. The copy in /usr/local/share/ca-certificates keeps it
	// trusted when the agent later runs update-ca-certificates itself.
	script := "set -e\n" +
		"mkdir -p /usr/local/share/ca-certificates " + path.Dir(compose.SystemCABundle) + "\n" +
		"cp " + compose.AgentCAFile + " /usr/local/share/ca-certificates/claude-bottle.crt\n" +
		"ln -sf /usr/local/share/ca-certificates/claude-bottle.crt " + path.Dir(compose.SystemCABundle) + "/claude-bottle.pem\n" +
		"cat " + compose.AgentCAFile + " >> " + compose.SystemCABundle + "\n"
	if len(plan.Bottle.Git.Repos) > 0 {
		script += "if command -v git >/dev/null; then\n" + GitConfigScript(plan) + "fi\n"
	}
	if plan.AgentSetup != "" {
		script += "(\n" + plan.AgentSetup + "\n)\n"
	}
	return script
}

// UserProvisionScript registers supervise with Claude Code, when the image
// has it, as the agent's own user; "" when the bottle has no supervise.
func UserProvisionScript(plan *bottle.Plan) string {
	if !plan.Bottle.SuperviseEnabled() {
		return ""
	}
	return "if command -v claude >/dev/null; then " +
		"claude mcp add --scope user --transport http supervise " + contract.URL(contract.Supervise) + "/ >/dev/null 2>&1 || true; fi\n"
}

// GitConfigScript sets the agent's commit identity (unless the image has
// one) and one insteadOf rule per repo, system-wide.
func GitConfigScript(plan *bottle.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "git config --system user.name >/dev/null || git config --system user.name %s\n", shellQuote("claude-bottle agent ("+plan.Bottle.Name+")"))
	fmt.Fprintf(&b, "git config --system user.email >/dev/null || git config --system user.email %s\n", shellQuote("agent@"+plan.Slug+".bottle.invalid"))
	for _, r := range plan.Bottle.Git.Repos {
		if r.Workspace {
			continue // cloned from git://git-gate/<name>.git directly
		}
		fmt.Fprintf(&b, "git config --system url.%s.insteadOf %s\n", shellQuote("git://git-gate/"+r.Name+".git"), shellQuote(r.URL))
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Down stops a bottle: compose.log gets every container's logs, containers
// and networks are removed, and the state and queue directories too unless
// keep is set.
func (e *Backend) Down(ctx context.Context, layout statedir.Layout, slug string, keep bool) error {
	if err := contract.ValidateSlug(slug); err != nil {
		return err
	}
	return e.removeBottle(ctx, layout, slug, !keep)
}

func (e *Backend) removeBottle(ctx context.Context, layout statedir.Layout, slug string, removeState bool) error {
	label := contract.LabelSlug + "=" + slug
	cs, err := e.ListContainers(ctx, label, true)
	if err != nil {
		return err
	}
	var logs bytes.Buffer
	for _, c := range cs {
		fmt.Fprintf(&logs, "==> %s <==\n", c.Name)
		if rc, err := e.LogStream(ctx, c.ID, engine.LogOptions{Timestamps: true}); err == nil {
			_, _ = io.Copy(&logs, rc)
			_ = rc.Close()
		}
	}
	var errs []error
	if dir := layout.StateDir(slug); len(cs) > 0 {
		if _, err := os.Stat(dir); err == nil {
			errs = append(errs, statedir.WriteFileAtomic(dir, statedir.ComposeLog, logs.Bytes(), statedir.PrivatePerm))
		}
	}
	for _, c := range cs {
		if err := e.RemoveContainer(ctx, c.ID, engine.RemoveContainerOptions{Force: true, Volumes: true}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.removeAgentImages(ctx, slug); err != nil {
		errs = append(errs, fmt.Errorf("remove the agent images of %s: %w", slug, err))
	}
	nets, err := e.ListNetworks(ctx, label)
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range nets {
		if err := e.RemoveNetwork(ctx, n.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if removeState {
		errs = append(errs, layout.Remove(slug))
	}
	return errors.Join(errs...)
}

// BottleInfo is one bottle seen on the engine.
type BottleInfo struct {
	Slug       string   `json:"slug"`
	Containers []string `json:"containers"`
	Running    int      `json:"running"`
	Shape      string   `json:"shape,omitempty"`
	Name       string   `json:"name,omitempty"`
	StartedAt  string   `json:"started_at,omitempty"`
	StateDir   bool     `json:"state_dir"`
	// Assessment: ok, starting, degraded or broken, daemon restart counts,
	// the problems and the command that fixes them.
	Assessment
	Details []ContainerHealth `json:"details,omitempty"`
}

// Bottles lists every bottle that has containers on the engine.
func (e *Backend) Bottles(ctx context.Context, layout statedir.Layout) ([]BottleInfo, error) {
	cs, err := e.ListContainers(ctx, contract.LabelSlug, true)
	if err != nil {
		return nil, err
	}
	by := map[string]*BottleInfo{}
	for _, c := range cs {
		slug := c.Labels[contract.LabelSlug]
		b := by[slug]
		if b == nil {
			b = &BottleInfo{Slug: slug}
			by[slug] = b
		}
		b.Containers = append(b.Containers, c.Name)
		if c.State == "running" {
			b.Running++
		}
		if h, err := e.containerHealth(ctx, c.ID); err == nil {
			b.Details = append(b.Details, h)
		}
	}
	var out []BottleInfo
	for _, slug := range sortedKeys(by) {
		b := by[slug]
		slices.Sort(b.Containers)
		slices.SortFunc(b.Details, func(x, y ContainerHealth) int { return strings.Compare(x.Name, y.Name) })
		b.Assessment = Assess(slug, b.Details)
		if meta, err := os.ReadFile(filepath.Join(layout.StateDir(slug), statedir.MetadataFile)); err == nil {
			b.StateDir = true
			var m bottle.Metadata
			if jsonUnmarshal(meta, &m) == nil {
				b.Shape, b.Name, b.StartedAt = m.Shape, m.Name, m.StartedAt.Format(time.RFC3339)
			}
		}
		out = append(out, *b)
	}
	return out, nil
}

func withLabels(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
