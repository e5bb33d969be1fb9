package compose

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

// TestHardening checks, in both shapes, what a root-in-container agent would
// otherwise use: every container drops every capability and sets
// no-new-privileges, every container has memory and pids limits (memory
// without extra swap), the sidecars' root is read-only with forwarding and
// IPv6 off, and every network has IPv6 off.
func TestHardening(t *testing.T) {
	for _, fx := range fixtures() {
		for _, shape := range []contract.Shape{contract.Legacy, contract.Bundle} {
			t.Run(fx+"-"+string(shape), func(t *testing.T) {
				p := build(t, fx, shape)
				for name, s := range p.Services {
					assert.DeepEqual(t, s.CapDrop, []string{"ALL"})
					assert.Equal(t, len(s.CapAdd), 0, "%s: no capability is added back", name)
					assert.DeepEqual(t, s.SecurityOpt, []string{"no-new-privileges:true"})
					assert.Assert(t, s.MemLimit >= 64<<20, name)
					assert.Equal(t, s.MemswapLimit, s.MemLimit, name)
					assert.Assert(t, s.PidsLimit > 0, name)
					assert.Equal(t, s.Sysctls["net.ipv6.conf.all.disable_ipv6"], "1", name)
					if name == AgentService {
						assert.DeepEqual(t, s.DNS, []string{AgentDNS})
						assert.Equal(t, s.CPUs, "2")
						assert.Equal(t, s.MemLimit, int64(4<<30))
						assert.Equal(t, s.PidsLimit, int64(manifest.DefaultPids))
						continue
					}
					assert.Assert(t, s.ReadOnly, name)
					assert.Equal(t, s.Sysctls["net.ipv4.ip_forward"], "0", name)
					assert.Equal(t, len(s.Tmpfs), 2, name)
				}
				for key, n := range p.Networks {
					assert.Assert(t, !n.EnableIPv6, key)
				}
			})
		}
	}
}

// TestAgentResources: the manifest's [resources] reach the agent and only
// the agent.
func TestAgentResources(t *testing.T) {
	m, err := manifest.Parse([]byte("name = \"res\"\n[resources]\nmemory = \"768m\"\npids = 100\ncpus = 0.5\n"), "res.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(lookup)
	assert.NilError(t, err)
	for _, shape := range []contract.Shape{contract.Legacy, contract.Bundle} {
		p, err := Build(Options{Bottle: r, Slug: "res-test1", Shape: shape, Layout: statedir.Layout{Home: home}})
		assert.NilError(t, err)
		a := p.Services[AgentService]
		assert.Equal(t, a.MemLimit, int64(768<<20))
		assert.Equal(t, a.PidsLimit, int64(100))
		assert.Equal(t, a.CPUs, "0.5")
		for name, s := range p.Services {
			if name != AgentService {
				assert.Assert(t, s.PidsLimit != 100 && s.CPUs == "", name)
			}
		}
	}
}

// TestPipelockUnreachableForAgent: no pipelock alias on the agent's network
// in either shape, and in the bundle pipelock listens on loopback only.
func TestPipelockUnreachableForAgent(t *testing.T) {
	for _, shape := range []contract.Shape{contract.Legacy, contract.Bundle} {
		p := build(t, "full", shape)
		for name, s := range p.Services {
			if n, ok := s.Networks[InternalNet]; ok {
				for _, a := range n.Aliases {
					assert.Assert(t, a != "pipelock" && a != "claude-bottle-pipelock-full-test1", "%s: %s on the agent's network", shape, name)
				}
			}
		}
	}
}
