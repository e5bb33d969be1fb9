package lifecycle

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

func TestApplyHardening(t *testing.T) {
	s := &compose.Service{
		CapDrop: []string{"ALL"}, ReadOnly: true,
		Tmpfs:    []string{"/tmp:rw,size=64m", "/var/lib/x:rw,exec"},
		Sysctls:  map[string]string{"net.ipv4.ip_forward": "0"},
		MemLimit: 1 << 30, MemswapLimit: 1 << 30, PidsLimit: 100, CPUs: "1.5",
	}
	hc := &engine.ContainerSpec{}
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

// TestCapabilityBuildSpec: a capability build runs with the agent's
// hardening and limits, on the bottle's internal network, with only the
// capabilities package installation needs: never NET_RAW or NET_ADMIN.
func TestCapabilityBuildSpec(t *testing.T) {
	pids := int64(96)
	agent := &engine.ContainerSpec{
		CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges:true", "seccomp=/p.json"}, DNS: []string{"192.0.2.53"},
		Sysctls: map[string]string{"net.ipv6.conf.all.disable_ipv6": "1"},
		Binds:   []string{"/home/u/work:/workspace"},
		Memory:  192 << 20, MemorySwap: 192 << 20, PidsLimit: &pids, NanoCPUs: 1e9,
	}
	hc := CapabilityBuildSpec("cap-abcde", "snap", agent)
	assert.DeepEqual(t, hc.Networks, []engine.Attachment{{Network: "claude-bottle-net-cap-abcde"}})
	assert.Equal(t, hc.NetworkMode, "", "RUN lines run on the bottle's internal network, never the default bridge")
	assert.Equal(t, hc.Image, "snap")
	assert.DeepEqual(t, []string(hc.CapDrop), []string{"ALL"})
	assert.DeepEqual(t, []string(hc.CapAdd), []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID"})
	for _, c := range hc.CapAdd {
		assert.Assert(t, !strings.Contains(c, "NET") && !strings.Contains(c, "SYS"), c)
	}
	assert.DeepEqual(t, hc.SecurityOpt, []string{"no-new-privileges:true", "seccomp=/p.json"})
	assert.DeepEqual(t, hc.DNS, []string{"192.0.2.53"})
	assert.Equal(t, hc.Sysctls["net.ipv6.conf.all.disable_ipv6"], "1")
	assert.Equal(t, hc.Sysctls["net.ipv6.conf.default.disable_ipv6"], "1")
	assert.Equal(t, hc.Memory, int64(192<<20))
	assert.Equal(t, *hc.PidsLimit, int64(96))
	assert.Equal(t, hc.NanoCPUs, int64(1e9))
	assert.Assert(t, len(hc.Binds) == 0, "the agent's mounts stay out of the build")
	assert.Assert(t, !hc.ReadonlyRootfs)

	// An agent without limits still gets bounded builds.
	hc = CapabilityBuildSpec("cap-abcde", "snap", &engine.ContainerSpec{})
	assert.Assert(t, hc.Memory > 0 && *hc.PidsLimit > 0)
	assert.DeepEqual(t, hc.DNS, []string{"192.0.2.53"})
}

func TestWithEnv(t *testing.T) {
	got := withEnv([]string{"PATH=/usr/bin", "A=1"}, []string{"PATH=/opt/bin:/usr/bin", "B=2", "A=3"})
	assert.DeepEqual(t, got, []string{"PATH=/opt/bin:/usr/bin", "B=2", "A=3"})
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	_, _ = b.Write([]byte("0123456789"))
	_, _ = b.Write([]byte("ab"))
	assert.Equal(t, b.String(), "456789ab")
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
