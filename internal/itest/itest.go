// Package itest is the shared harness of the Docker-backed integration tests:
// the one skip rule, run-id labels, and containers and networks that clean up
// after themselves.
package itest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// ForceEnv forces the Docker-backed tests on: with it set to 1 a missing
// engine fails the run instead of skipping it. .ci/run sets it.
const ForceEnv = "CLAUDE_BOTTLE_INTEGRATION"

// LabelRunID marks every resource a test run creates, so a crashed run's
// leftovers can be found by label.
const LabelRunID = "dev.claude-bottle.test-run"

// LookupEnv is os.LookupEnv, for tests that read the caller's environment.
func LookupEnv(k string) (string, bool) { return os.LookupEnv(k) }

// Env is the integration environment of one test.
type Env struct {
	// Eng is the engine, through pkg/engine like the code under test.
	Eng   *engine.Engine
	RunID string
}

// SkipReason says why Docker-backed tests cannot run here, or "" when they
// should. lookup is os.LookupEnv in production.
func SkipReason(lookup func(string) (string, bool)) string {
	if v, _ := lookup(ForceEnv); strings.TrimSpace(v) == "1" {
		return ""
	}
	for _, k := range []string{"GITEA_ACTIONS", "ACT"} {
		if v, _ := lookup(k); strings.EqualFold(strings.TrimSpace(v), "true") {
			return "running under Gitea act_runner (" + k + "=true): job containers there cannot bind-mount " +
				"host paths or run multi-stage builds; set " + ForceEnv + "=1 to force"
		}
	}
	return ""
}

// Require returns the environment of a Docker-backed test, or skips the test
// with the reason (never silently). Under ForceEnv=1 an unreachable engine is
// a failure, not a skip.
func Require(t testing.TB) *Env {
	t.Helper()
	if reason := SkipReason(os.LookupEnv); reason != "" {
		t.Skip("integration: " + reason)
	}
	forced := os.Getenv(ForceEnv) == "1"
	eng, err := engine.Connect(context.Background())
	if err != nil {
		msg := fmt.Sprintf("integration: no Docker engine answers (%v); start one (scripts/setup.sh does as root on Debian)", err)
		if forced {
			t.Fatal(msg + "; " + ForceEnv + "=1 forbids skipping")
		}
		t.Skip(msg + "; set " + ForceEnv + "=1 to make this a failure")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	t.Cleanup(func() { _ = eng.Close() })
	return &Env{Eng: eng, RunID: hex.EncodeToString(b[:])}
}

// Labels returns the labels every resource of this run carries.
func (e *Env) Labels() map[string]string {
	return map[string]string{LabelRunID: e.RunID}
}

// Name returns a resource name unique to this run.
func (e *Env) Name(base string) string {
	return "cbtest-" + base + "-" + e.RunID
}

// RequireImage fails the test when image is missing, naming the target that builds it.
func (e *Env) RequireImage(t testing.TB, image, target string) {
	t.Helper()
	if _, err := e.Eng.InspectImage(context.Background(), image); err != nil {
		t.Fatalf("image %s is missing (%v): build it with `go tool mage %s`", image, err, target)
	}
}

// Network creates a bridge network removed when the test ends.
func (e *Env) Network(t testing.TB, base string, internal bool, opts map[string]string) engine.Network {
	t.Helper()
	n := engine.Network{Name: e.Name(base), Labels: e.Labels()}
	id, err := e.Eng.CreateNetwork(context.Background(), engine.NetworkSpec{
		Name:     n.Name,
		Driver:   "bridge",
		Internal: internal,
		Options:  opts,
		Labels:   n.Labels,
	})
	if err != nil {
		t.Fatalf("create network %s: %v", base, err)
	}
	n.ID = id
	t.Cleanup(func() {
		if err := e.Eng.RemoveNetwork(context.Background(), n.ID); err != nil {
			t.Logf("remove network %s: %v", n.Name, err)
		}
	})
	return n
}

// InternalNetwork creates a network shaped like a bottle's internal one:
// internal, and with inhibit_ipv4 so the bridge has no host address.
func (e *Env) InternalNetwork(t testing.TB, base string) engine.Network {
	t.Helper()
	return e.Network(t, base, true, map[string]string{contract.InhibitIPv4: "true"})
}

// Container is a running test container.
type Container struct {
	env *Env
	ID  string
	// IP maps a network name to the container's address on it.
	IP map[string]string
	// Gateway maps a network name to that network's gateway address.
	Gateway map[string]string
}

// RunSpec describes a container to run.
type RunSpec struct {
	Name    string
	Image   string
	Cmd     []string
	Network string   // network name to attach at creation
	Aliases []string // aliases on Network
	IP      string   // fixed IPv4 address on Network (its subnet must be pinned)
	Env     []string
	// Entrypoint overrides the image's entrypoint when not nil.
	Entrypoint []string
	User       string
	// Binds are host:container[:ro] bind mounts.
	Binds []string
	// Labels are added to the run-id label.
	Labels map[string]string
	// CapAdd and Sysctls are given to the container as they are (attacker
	// containers of the isolation tests need raw sockets).
	CapAdd  []string
	Sysctls map[string]string
}

// Run creates and starts a container removed when the test ends.
func (e *Env) Run(t testing.TB, spec RunSpec) *Container {
	t.Helper()
	labels := e.Labels()
	for k, v := range spec.Labels {
		labels[k] = v
	}
	cs := engine.ContainerSpec{
		Name: e.Name(spec.Name), Image: spec.Image, Cmd: spec.Cmd, Env: spec.Env, Entrypoint: spec.Entrypoint, User: spec.User, Labels: labels,
		Binds: spec.Binds, CapAdd: spec.CapAdd, Sysctls: spec.Sysctls,
	}
	if spec.Network != "" {
		cs.Networks = []engine.Attachment{{Network: spec.Network, Aliases: spec.Aliases, IPv4: spec.IP}}
	}
	ctx := context.Background()
	id, err := e.Eng.CreateContainer(ctx, cs)
	if err != nil {
		t.Fatalf("create container %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		if err := e.Eng.RemoveContainer(context.Background(), id, engine.RemoveContainerOptions{Force: true, Volumes: true}); err != nil {
			t.Logf("remove container %s: %v", spec.Name, err)
		}
	})
	if err := e.Eng.StartContainer(ctx, id); err != nil {
		t.Fatalf("start container %s: %v", spec.Name, err)
	}
	info, err := e.Eng.InspectContainer(ctx, id)
	if err != nil {
		t.Fatalf("inspect container %s: %v", spec.Name, err)
	}
	ips, gws := map[string]string{}, map[string]string{}
	for name, ep := range info.Endpoints {
		ips[name] = ep.IPv4
		gws[name] = ep.Gateway
	}
	return &Container{env: e, ID: id, IP: ips, Gateway: gws}
}

// Connect attaches the container to another network with aliases.
func (c *Container) Connect(t testing.TB, network string, aliases ...string) {
	t.Helper()
	err := c.env.Eng.ConnectNetwork(context.Background(), network, c.ID, aliases)
	if err != nil {
		t.Fatalf("connect to %s: %v", network, err)
	}
}

// Stop stops the container (SIGTERM, then SIGKILL after timeout seconds).
func (c *Container) Stop(t testing.TB, timeout int) {
	t.Helper()
	if err := c.env.Eng.StopContainer(context.Background(), c.ID, timeout); err != nil {
		t.Fatalf("stop container: %v", err)
	}
}

// Signal sends sig (e.g. "SIGTERM") to the container's PID 1.
func (c *Container) Signal(t testing.TB, sig string) {
	t.Helper()
	if err := c.env.Eng.Signal(t.Context(), c.ID, sig); err != nil {
		t.Fatalf("signal container: %v", err)
	}
}

// Wait waits up to d for the container to exit and returns its exit code.
func (c *Container) Wait(t testing.TB, d time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	code, err := c.env.Eng.WaitContainer(ctx, c.ID)
	if err != nil {
		t.Fatalf("container did not exit within %s: %v\n%s", d, err, c.Logs(t))
	}
	return int(code)
}

// Running reports whether the container is running.
func (c *Container) Running(t testing.TB) bool {
	t.Helper()
	info, err := c.env.Eng.InspectContainer(context.Background(), c.ID)
	if err != nil {
		t.Fatalf("inspect container: %v", err)
	}
	return info.Running
}

// Logs returns the container's stdout and stderr.
func (c *Container) Logs(t testing.TB) string {
	t.Helper()
	rc, err := c.env.Eng.LogStream(context.Background(), c.ID, engine.LogOptions{})
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	defer func() { _ = rc.Close() }()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	return string(data)
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	Code   int
	Stdout string
	Stderr string
}

// Exec runs a bash script inside the container (on stdin, never on argv, so
// secrets in scripts do not show up in process listings).
func (c *Container) Exec(t testing.TB, script string) ExecResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code, err := c.env.Eng.ExecStream(t.Context(), c.ID, []string{"bash", "-s"},
		engine.StreamOptions{Stdin: strings.NewReader(script), Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	return ExecResult{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

// WaitHealthy polls `initd health` in a sidecars-image container until it
// passes (every selected daemon accepts connections), failing the test with
// the container's logs after timeout.
func (c *Container) WaitHealthy(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res := c.Exec(t, contract.InitdBinary+" health")
		if res.Code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy within %s: %s%s\n%s", timeout, res.Stdout, res.Stderr, c.Logs(t))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
