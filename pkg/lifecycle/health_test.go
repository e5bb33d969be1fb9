package lifecycle

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestAssess(t *testing.T) {
	const slug = "demo-abcde"
	agent := ContainerHealth{Name: "claude-bottle-demo-abcde", Role: "agent", State: "running"}
	bundle := func(health, initd string) ContainerHealth {
		return ContainerHealth{Name: "claude-bottle-sidecars-demo-abcde", Role: "sidecars", State: "running", Health: health, Initd: initd}
	}
	for _, tc := range []struct {
		name     string
		cs       []ContainerHealth
		status   string
		restarts map[string]int
		problem  string
		fix      string
	}{
		{name: "healthy bundle", cs: []ContainerHealth{agent, bundle("healthy", "initd: egress=running restarts=0 pipelock=running restarts=0")}, status: BottleOK},
		{name: "bundle after a restart", cs: []ContainerHealth{agent, bundle("healthy", "initd: egress=running restarts=0 pipelock=running restarts=2")},
			status: BottleOK, restarts: map[string]int{"pipelock": 2}},
		{name: "bundle restarting a daemon", cs: []ContainerHealth{agent, bundle("healthy", "initd: egress=running restarts=0 pipelock=restarting restarts=1")},
			status: BottleDegraded, restarts: map[string]int{"pipelock": 1}, problem: "pipelock restarting"},
		{name: "bundle crash loop", cs: []ContainerHealth{agent, bundle("unhealthy", "initd: egress=running restarts=0 pipelock=crash-looping restarts=5")},
			status: BottleBroken, restarts: map[string]int{"pipelock": 5}, problem: "pipelock crash-looping",
			fix: "docker restart claude-bottle-sidecars-demo-abcde"},
		{name: "hostile initd line ignored", cs: []ContainerHealth{agent, bundle("healthy", "initd: x;rm=running restarts=9 egress=running restarts=oops")}, status: BottleOK},
		{name: "legacy sidecar restarted by the engine", cs: []ContainerHealth{agent,
			{Name: "claude-bottle-pipelock-demo-abcde", Role: "pipelock", State: "running", Health: "healthy", Restarts: 3}},
			status: BottleOK, restarts: map[string]int{"pipelock": 3}},
		{name: "legacy sidecar in the engine's back-off", cs: []ContainerHealth{agent,
			{Name: "claude-bottle-pipelock-demo-abcde", Role: "pipelock", State: "restarting", Restarts: 2}},
			status: BottleDegraded, restarts: map[string]int{"pipelock": 2}, problem: "being restarted by the engine"},
		{name: "after an engine restart", cs: []ContainerHealth{
			{Name: "claude-bottle-demo-abcde", Role: "agent", State: "exited", ExitCode: 137},
			{Name: "claude-bottle-pipelock-demo-abcde", Role: "pipelock", State: "exited"},
			{Name: "claude-bottle-egress-demo-abcde", Role: "egress", State: "running", Health: "healthy"}},
			status: BottleBroken, problem: "claude-bottle-demo-abcde is exited (exit code 137)",
			fix: "docker start claude-bottle-pipelock-demo-abcde claude-bottle-demo-abcde"},
		{name: "starting", cs: []ContainerHealth{agent, bundle("starting", "")}, status: BottleStarting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(slug, tc.cs)
			assert.Equal(t, a.Status, tc.status)
			assert.DeepEqual(t, a.Restarts, tc.restarts)
			if tc.problem == "" {
				assert.Equal(t, len(a.Problems), 0, "%v", a.Problems)
			} else {
				assert.Assert(t, len(a.Problems) > 0)
				assert.Assert(t, is.Contains(a.Problems[0], tc.problem))
			}
			if tc.fix != "" {
				assert.Assert(t, is.Contains(a.Fix, tc.fix))
			}
		})
	}
}
