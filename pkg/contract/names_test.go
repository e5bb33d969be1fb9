package contract

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestNames(t *testing.T) {
	assert.DeepEqual(t, Daemons(), []string{"egress", "pipelock", "git-gate", "supervise"})
	for d, p := range map[string]int{"egress": 9099, "pipelock": 8888, "git-gate": 9418, "supervise": 9100, "nope": 0} {
		assert.Equal(t, Port(d), p, d)
	}
	assert.Equal(t, Project("demo-ab1cd"), "claude-bottle-demo-ab1cd")
	assert.Equal(t, AgentContainer("demo-ab1cd"), "claude-bottle-demo-ab1cd")
	assert.Equal(t, SidecarContainer("git-gate", "demo-ab1cd"), "claude-bottle-git-gate-demo-ab1cd")
	assert.Equal(t, BundleContainer("demo-ab1cd"), "claude-bottle-sidecars-demo-ab1cd")
	assert.Equal(t, InternalNetwork("demo-ab1cd"), "claude-bottle-net-demo-ab1cd")
	assert.Equal(t, EgressNetwork("demo-ab1cd"), "claude-bottle-egress-demo-ab1cd")
	assert.Equal(t, URL("egress"), "http://egress:9099")
}

func TestValidateSlug(t *testing.T) {
	for _, ok := range []string{"demo-ab1cd", "a-00000", "my-bottle-2-zzzzz"} {
		assert.NilError(t, ValidateSlug(ok), ok)
	}
	for _, bad := range []string{"", "demo", "demo-ab1c", "demo-AB1CD", "../x-ab1cd", "demo/x-ab1cd", "-demo-ab1cd", "demo-ab1cd/..", "demo--ab1c_", "demo-ab1cd\n"} {
		assert.ErrorContains(t, ValidateSlug(bad), "invalid bottle slug", bad)
	}
}

func TestBundleArgvPipelockOnLoopback(t *testing.T) {
	for _, d := range Daemons() {
		argv := BundleArgv(d)
		if d == Pipelock {
			if argv[3] != "127.0.0.1:8888" || Argv(d)[3] != "0.0.0.0:8888" {
				t.Fatalf("pipelock: bundle %v, legacy %v", argv, Argv(d))
			}
			continue
		}
		if strings.Join(argv, " ") != strings.Join(Argv(d), " ") {
			t.Fatalf("%s: bundle argv %v differs from %v", d, argv, Argv(d))
		}
	}
}
