package docker

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
)

func TestApplyHardening(t *testing.T) {
	s := &compose.Service{
		CapDrop: []string{"ALL"}, ReadOnly: true,
		Tmpfs:    []string{"/tmp:rw,size=64m", "/var/lib/x:rw,exec"},
		Sysctls:  map[string]string{"net.ipv4.ip_forward": "0"},
		MemLimit: 1 << 30, MemswapLimit: 1 << 30, PidsLimit: 100, CPUs: "1.5",
	}
	hc := &container.HostConfig{}
	applyHardening(hc, s)
	assert.DeepEqual(t, []string(hc.CapDrop), []string{"ALL"})
	assert.Assert(t, hc.ReadonlyRootfs)
	assert.DeepEqual(t, hc.Tmpfs, map[string]string{"/tmp": "rw,size=64m", "/var/lib/x": "rw,exec"})
	assert.Equal(t, hc.Sysctls["net.ipv4.ip_forward"], "0")
	assert.Equal(t, hc.Memory, int64(1<<30))
	assert.Equal(t, hc.MemorySwap, int64(1<<30))
	assert.Equal(t, *hc.PidsLimit, int64(100))
	assert.Equal(t, hc.NanoCPUs, int64(1_500_000_000))
}

func TestCapabilityBuildSpec(t *testing.T) {
	spec := CapabilityBuildSpec("cap-abcde", "claude-bottle-agent-cap-abcde:x", "/tmp/Dockerfile", "sha256:snap")
	assert.Equal(t, spec.NetworkMode, "claude-bottle-net-cap-abcde", "RUN lines run on the bottle's internal network, never the default bridge")
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		assert.Equal(t, spec.Args[k], "http://egress:9099", k)
	}
	assert.Equal(t, spec.Args["CLAUDE_BOTTLE_AGENT_BASE"], "sha256:snap")
	assert.Assert(t, spec.Force)

	df := AsRoot("ARG CLAUDE_BOTTLE_AGENT_BASE\nFROM ${CLAUDE_BOTTLE_AGENT_BASE}\nRUN apt-get install -y jq\n")
	assert.Equal(t, df, "ARG CLAUDE_BOTTLE_AGENT_BASE\nFROM ${CLAUDE_BOTTLE_AGENT_BASE}\nUSER root\nRUN apt-get install -y jq\n")
}

func TestBuildTailEscapes(t *testing.T) {
	out := buildTail(strings.Repeat("old\n", 30)+"egress: host x is not allowed\n\x1b[2Jclear\n", 3)
	assert.Equal(t, out, "  | old\n  | egress: host x is not allowed\n  | \\x1b[2Jclear")
}

func TestIsRootUser(t *testing.T) {
	for u, root := range map[string]bool{"": true, "root": true, "0": true, "00": true, "0:0": true, "root:agent": true, " 0 ": true,
		"agent": false, "1000": false, "1000:0": false, "10": false, "rooter": false} {
		assert.Equal(t, IsRootUser(u), root, "%q", u)
	}
}
