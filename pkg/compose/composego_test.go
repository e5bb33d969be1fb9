package compose

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// TestComposeGoLoads proves the rendered YAML is valid Compose: compose-go (the
// loader behind `docker compose`) loads every fixture in both shapes with
// validation on, and sees what we meant: networks, aliases, healthchecks,
// token values taken from the bring-up environment.
func TestComposeGoLoads(t *testing.T) {
	for _, fx := range fixtures() {
		for _, shape := range []contract.Shape{contract.Legacy, contract.Bundle} {
			t.Run(fx+"-"+string(shape), func(t *testing.T) {
				p := build(t, fx, shape)
				out, err := p.YAML()
				assert.NilError(t, err)
				env := types.Mapping{"EGRESS_TOKEN_1": "tok-one", "EGRESS_TOKEN_2": "tok-two"}
				proj, err := loader.LoadWithContext(t.Context(), types.ConfigDetails{
					WorkingDir:  t.TempDir(),
					ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml", Content: out}},
					Environment: env,
				}, func(o *loader.Options) { o.SetProjectName(p.Name, true) })
				assert.NilError(t, err)
				assert.Equal(t, proj.Name, p.Name)
				assert.Equal(t, len(proj.Services), len(p.Services))

				internal := proj.Networks[InternalNet]
				assert.Assert(t, internal.Internal)
				assert.Equal(t, internal.DriverOpts["com.docker.network.bridge.inhibit_ipv4"], "true")

				for name, n := range proj.Networks {
					assert.Assert(t, n.EnableIPv6 != nil && !*n.EnableIPv6, "network %s: IPv6 must be off explicitly", name)
				}
				agent := proj.Services[AgentService]
				assert.DeepEqual(t, agent.CapDrop, []string{"ALL"})
				assert.Assert(t, agent.MemLimit > 0 && agent.PidsLimit > 0 && agent.CPUS > 0)
				assert.Equal(t, *agent.Environment["HTTPS_PROXY"], "http://egress:9099")
				for name, svc := range proj.Services {
					if name == AgentService {
						continue
					}
					assert.Assert(t, svc.HealthCheck != nil, name)
					assert.DeepEqual(t, svc.CapDrop, []string{"ALL"})
					assert.Assert(t, svc.ReadOnly, name)
					assert.Assert(t, svc.MemLimit > 0 && svc.PidsLimit > 0, name)
					assert.Assert(t, svc.StopGracePeriod != nil, name)
				}
				if fx == "full" {
					assert.Equal(t, *agent.Environment["GREETING"], "costs $5", "a $ must survive interpolation")
					egress := proj.Services["egress"]
					if shape == contract.Bundle {
						egress = proj.Services[SidecarsService]
						assert.Equal(t, len(egress.Networks[InternalNet].Aliases), 6, "pipelock has no alias where the agent is")
					}
					assert.Equal(t, *egress.Environment["EGRESS_TOKEN_1"], "tok-one", "token slot must come from the bring-up environment")
				}
			})
		}
	}
}
