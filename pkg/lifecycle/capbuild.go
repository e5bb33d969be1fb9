package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/capfile"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// CapabilityBuildCaps are the only capabilities a capability build's
// container gets back after dropping them all: what package managers need
// as root to unpack files owned by other users (CHOWN, DAC_OVERRIDE,
// FOWNER, FSETID for setgid binaries such as those of the shadow group)
// and to drop to their sandbox user (SETUID, SETGID: apt runs its
// downloads as _apt). Never NET_RAW (raw frames cross the bridge to the
// host's services), never NET_ADMIN, SYS_ADMIN or anything that reaches
// the kernel. no-new-privileges stays on: apt and dpkg use these
// capabilities directly, not through setuid binaries.
var CapabilityBuildCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID"}

// Limits of a capability build when the agent it starts from has none
// (a bottle brought up before [resources] existed).
const (
	capBuildMemory = 2 << 30
	capBuildPids   = 512
)

// capBuildLogMax bounds the build output kept for the error message.
const capBuildLogMax = 64 << 10

// CapabilityBuildSpec is the container a capability build runs its RUN
// lines in, from the agent's snapshot: the agent's hardening (every
// capability dropped but CapabilityBuildCaps, no-new-privileges, the
// agent's sysctls with IPv6 off, its pinned resolver, its memory, pids and
// CPU limits, its runtime; agent is the running agent's configuration, nil
// when unknown) on the bottle's internal network, with no mount of the
// agent's (the workspace stays out of the image) and a writable root
// filesystem. It runs as root in /, idle until the build's execs.
func CapabilityBuildSpec(slug, snapshot string, agent *engine.ContainerSpec) engine.ContainerSpec {
	init := true
	hc := engine.ContainerSpec{
		Name:  contract.AgentContainer(slug) + "-capability-build",
		Image: snapshot, User: "0:0", WorkingDir: "/",
		Entrypoint:  []string{"sleep", "infinity"},
		Labels:      map[string]string{contract.LabelSlug: slug},
		Networks:    []engine.Attachment{{Network: contract.InternalNetwork(slug)}},
		Init:        &init,
		CapDrop:     []string{compose.CapAll},
		CapAdd:      slices.Clone(CapabilityBuildCaps),
		SecurityOpt: []string{compose.NoNewPrivileges},
		DNS:         []string{compose.AgentDNS},
		Sysctls: map[string]string{
			"net.ipv6.conf.all.disable_ipv6":     "1",
			"net.ipv6.conf.default.disable_ipv6": "1",
		},
	}
	hc.Memory, hc.MemorySwap = capBuildMemory, capBuildMemory
	pids := int64(capBuildPids)
	hc.PidsLimit = &pids
	if agent == nil {
		return hc
	}
	for _, o := range agent.SecurityOpt { // the agent's seccomp/AppArmor profile, if it has one
		if !slices.Contains(hc.SecurityOpt, o) && !strings.HasPrefix(o, "no-new-privileges") {
			hc.SecurityOpt = append(hc.SecurityOpt, o)
		}
	}
	if len(agent.DNS) > 0 {
		hc.DNS = slices.Clone(agent.DNS)
	}
	for k, v := range agent.Sysctls {
		hc.Sysctls[k] = v
	}
	if agent.Memory > 0 {
		hc.Memory, hc.MemorySwap = agent.Memory, agent.MemorySwap
	}
	if agent.PidsLimit != nil && *agent.PidsLimit > 0 {
		p := *agent.PidsLimit
		hc.PidsLimit = &p
	}
	hc.NanoCPUs = agent.NanoCPUs
	hc.Runtime = agent.Runtime
	return hc
}

// capabilityBuild runs an admitted capability Dockerfile on the snapshot
// of a bottle's agent and commits the result as tag. Nothing is executed
// by the engine's builder (which would fetch ADD/COPY sources from the
// host's namespace and run RUN lines with Docker's default capabilities):
// a container is created from the snapshot with CapabilityBuildHostConfig,
// each RUN line runs in it with docker exec (/bin/sh -c, or the exec form),
// as the Dockerfile's USER (root unless it says otherwise), in its WORKDIR,
// with its ENV and ARG values and the bottle's proxies; then the container
// is committed with the snapshot's configuration plus the Dockerfile's ENV,
// WORKDIR, USER and LABELs. The container is removed on every path. It
// returns the ENV settings the Dockerfile made ("KEY=value"), in order.
func (e *Backend) capabilityBuild(ctx context.Context, slug, snapshot, tag string, f *capfile.File, log io.Writer) ([]string, error) {
	img, err := e.InspectImage(ctx, snapshot)
	if err != nil {
		return nil, fmt.Errorf("inspect the agent snapshot: %w", err)
	}
	agent, err := e.InspectContainer(ctx, contract.AgentContainer(slug))
	if err != nil {
		return nil, fmt.Errorf("inspect the agent: %w", err)
	}
	st := newBuildState(img.Env, img.WorkingDir)
	labels := map[string]string{}
	for k, v := range img.Labels {
		labels[k] = v
	}

	spec := CapabilityBuildSpec(slug, snapshot, &agent.Spec)
	// A build container left by an interrupted approval (the CLI killed
	// mid-build) is this bottle's own: remove it before reusing its name.
	if prev, err := e.InspectContainer(ctx, spec.Name); err == nil && prev.Spec.Labels[contract.LabelSlug] == slug {
		_ = e.RemoveContainer(ctx, prev.ID, engine.RemoveContainerOptions{Force: true})
	}
	id, err := e.CreateContainer(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("create the capability build container: %w", err)
	}
	defer func() {
		// Also when ctx is cancelled: the build container must not outlive
		// the approval.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = e.RemoveContainer(rctx, id, engine.RemoveContainerOptions{Force: true})
	}()
	if err := e.StartContainer(ctx, id); err != nil {
		return nil, fmt.Errorf("start the capability build container: %w", err)
	}

	for _, s := range f.Steps {
		switch s.Keyword {
		case "ARG":
			for _, p := range s.Pairs {
				if !p.HasValue {
					continue
				}
				v, err := capfile.Expand(p.Value, st.lookup)
				if err != nil {
					return nil, fmt.Errorf("line %d: ARG %s: %w", s.Line, p.Key, err)
				}
				st.args[p.Key] = v
			}
		case "ENV":
			for _, p := range s.Pairs {
				v, err := capfile.Expand(p.Value, st.lookup)
				if err != nil {
					return nil, fmt.Errorf("line %d: ENV %s: %w", s.Line, p.Key, err)
				}
				st.setEnv(p.Key, v)
				st.added = append(st.added, p.Key+"="+v)
			}
		case "LABEL":
			for _, p := range s.Pairs {
				v, err := capfile.Expand(p.Value, st.lookup)
				if err != nil {
					return nil, fmt.Errorf("line %d: LABEL %s: %w", s.Line, p.Key, err)
				}
				labels[p.Key] = v
			}
		case "USER":
			v, err := capfile.Expand(s.Value, st.lookup)
			if err != nil {
				return nil, fmt.Errorf("line %d: USER: %w", s.Line, err)
			}
			st.user, st.userSet = v, true
		case "WORKDIR":
			v, err := capfile.Expand(s.Value, st.lookup)
			if err != nil {
				return nil, fmt.Errorf("line %d: WORKDIR: %w", s.Line, err)
			}
			if !path.IsAbs(v) {
				v = path.Join(st.workdir, v)
			}
			st.workdir, st.workdirSet = path.Clean(v), true
			if code, err := e.buildExec(ctx, id, "0:0", "/", nil, []string{"mkdir", "-p", "--", st.workdir}, log); err != nil || code != 0 {
				return nil, fmt.Errorf("line %d: WORKDIR %s: mkdir exited %d: %w", s.Line, st.workdir, code, err)
			}
		case "RUN":
			argv := s.Exec
			if argv == nil {
				argv = []string{"/bin/sh", "-c", s.Shell}
			}
			fmt.Fprintf(log, "line %d: RUN\n", s.Line)
			code, err := e.buildExec(ctx, id, st.user, st.workdir, st.runEnv(), argv, log)
			if err != nil {
				return nil, fmt.Errorf("line %d: RUN: %w", s.Line, err)
			}
			if code != 0 {
				return nil, fmt.Errorf("line %d: RUN exited with code %d", s.Line, code)
			}
		default: // capfile admits nothing else
			return nil, fmt.Errorf("line %d: %s is not run by a capability build", s.Line, s.Keyword)
		}
	}

	// The image keeps the snapshot's configuration (its entrypoint and
	// command, not the build container's), plus the Dockerfile's settings.
	out := &engine.ImageConfig{
		Env: st.env, Labels: labels, User: img.User, WorkingDir: img.WorkingDir,
		Entrypoint: slices.Clone(img.Entrypoint), Cmd: slices.Clone(img.Cmd),
		StopSignal: img.StopSignal,
	}
	if out.Entrypoint == nil {
		out.Entrypoint = []string{} // not nil: the commit would take the build container's
	}
	if st.userSet {
		out.User = st.user
	}
	if st.workdirSet {
		out.WorkingDir = st.workdir
	}
	out.Labels[contract.LabelSlug] = slug
	if _, err := e.Commit(ctx, id, engine.CommitOptions{
		Reference: tag, Comment: "claude-bottle: capability rebuild", Config: out, Pause: true,
	}); err != nil {
		return nil, fmt.Errorf("commit the capability build: %w", err)
	}
	return st.added, nil
}

// buildState is what the Dockerfile's instructions set so far.
type buildState struct {
	env                 []string // KEY=value, the snapshot's and the Dockerfile's
	args                map[string]string
	added               []string
	user, workdir       string
	userSet, workdirSet bool
}

func newBuildState(env []string, workdir string) *buildState {
	if workdir == "" {
		workdir = "/"
	}
	return &buildState{env: slices.Clone(env), args: map[string]string{}, user: "0:0", workdir: workdir}
}

// lookup resolves a variable as the builder does: ENV before ARG.
func (s *buildState) lookup(k string) (string, bool) {
	for i := len(s.env) - 1; i >= 0; i-- {
		if key, v, _ := strings.Cut(s.env[i], "="); key == k {
			return v, true
		}
	}
	v, ok := s.args[k]
	return v, ok
}

func (s *buildState) setEnv(k, v string) {
	s.env = slices.DeleteFunc(s.env, func(e string) bool { key, _, _ := strings.Cut(e, "="); return key == k })
	s.env = append(s.env, k+"="+v)
}

// runEnv is a RUN line's environment: the ARG values, the ENV values, and
// the bottle's proxies (which the image does not keep from the build).
func (s *buildState) runEnv() []string {
	var out []string
	keys := make([]string, 0, len(s.args))
	for k := range s.args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, k+"="+s.args[k])
	}
	out = append(out, s.env...)
	proxy := contract.URL(contract.Egress)
	return append(out, "HTTP_PROXY="+proxy, "HTTPS_PROXY="+proxy, "http_proxy="+proxy, "https_proxy="+proxy,
		"NO_PROXY="+compose.NoProxy, "no_proxy="+compose.NoProxy)
}

// buildExec runs argv in the build container and copies its output to log;
// cancelling ctx closes the stream (the container's removal ends the
// process).
func (e *Backend) buildExec(ctx context.Context, id, user, dir string, env, argv []string, log io.Writer) (int, error) {
	return e.ExecStream(ctx, id, argv, engine.StreamOptions{User: user, WorkDir: dir, Env: env, Stdout: log, Stderr: log})
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
