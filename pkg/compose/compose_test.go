package compose

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
)

const home = "/home/op/.claude-bottle"

// fixtureEnv is the host environment the fixtures resolve against; the token
// values must never show up in any rendered file.
var fixtureEnv = map[string]string{
	"CB_FIXTURE_GH_PAT":    "ghp_FixtureTokenValue0123456789abcdef",
	"CB_FIXTURE_NPM_TOKEN": "npm_FixtureTokenValue0123456789abcdef",
}

func lookup(k string) (string, bool) { v, ok := fixtureEnv[k]; return v, ok }

func fixtures() []string { return []string{"minimal", "full", "nosupervise"} }

func load(t *testing.T, fixture string) *manifest.Resolved {
	t.Helper()
	m, err := manifest.Load(filepath.Join("..", "..", "fixtures", "bottles", fixture+".toml"))
	assert.NilError(t, err)
	r, err := m.Resolve(lookup)
	assert.NilError(t, err)
	return r
}

func slugOf(r *manifest.Resolved) string { return r.Name + "-test1" }

func build(t *testing.T, fixture string, shape contract.Shape) *Project {
	t.Helper()
	r := load(t, fixture)
	p, err := Build(Options{Bottle: r, Slug: slugOf(r), Shape: shape, Layout: statedir.Layout{Home: home}, User: "1000:1000"})
	assert.NilError(t, err)
	return p
}

// TestGolden pins the YAML of every fixture in both shapes. Regenerate on
// purpose with: go test ./pkg/compose -update
func TestGolden(t *testing.T) {
	for _, fx := range fixtures() {
		for _, shape := range []contract.Shape{contract.Legacy, contract.Bundle} {
			t.Run(fx+"-"+string(shape), func(t *testing.T) {
				out, err := build(t, fx, shape).YAML()
				assert.NilError(t, err)
				golden.Assert(t, string(out), fx+"-"+string(shape)+".golden")
				for _, v := range fixtureEnv {
					assert.Assert(t, !strings.Contains(string(out), v), "a token value was rendered")
				}
			})
		}
	}
}

func envOf(t *testing.T, s *Service) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range s.Env() {
		if v == nil {
			out[k] = "<from environment>"
		} else {
			out[k] = *v
		}
	}
	return out
}

func hasEnv(s *Service, key string) bool {
	_, ok := s.Env()[key]
	return ok
}

func volumeTargets(s *Service) []string {
	var out []string
	for _, v := range s.Volumes {
		out = append(out, v.Target)
	}
	return out
}

func volumeFor(s *Service, target string) *Volume {
	for i := range s.Volumes {
		if s.Volumes[i].Target == target {
			return &s.Volumes[i]
		}
	}
	return nil
}

func serviceNames(p *Project) []string {
	var out []string
	for k := range p.Services {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type check struct {
	name string
	fx   string
	fn   func(t *testing.T, p *Project)
}

func TestLegacyShape(t *testing.T) {
	const slug = "full-test1"
	cases := []check{
		{"five services with repos and supervise", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, serviceNames(p), []string{"agent", "egress", "git-gate", "pipelock", "supervise"})
		}},
		{"no git-gate without repos", "minimal", func(t *testing.T, p *Project) {
			assert.Assert(t, p.Services["git-gate"] == nil)
		}},
		{"supervise present by default", "minimal", func(t *testing.T, p *Project) {
			assert.Assert(t, p.Services["supervise"] != nil)
		}},
		{"no supervise when disabled", "nosupervise", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, serviceNames(p), []string{"agent", "egress", "pipelock"})
		}},
		{"project name", "full", func(t *testing.T, p *Project) { assert.Equal(t, p.Name, "claude-bottle-full-test1") }},
		{"no sidecars service", "full", func(t *testing.T, p *Project) { assert.Assert(t, p.Services["sidecars"] == nil) }},
		{"internal network is internal", "full", func(t *testing.T, p *Project) {
			assert.Assert(t, p.Networks[InternalNet].Internal)
		}},
		{"internal network inhibits ipv4", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Networks[InternalNet].DriverOpts["com.docker.network.bridge.inhibit_ipv4"], "true")
		}},
		{"internal network name", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Networks[InternalNet].Name, "claude-bottle-net-full-test1")
		}},
		{"egress network is an ordinary bridge", "full", func(t *testing.T, p *Project) {
			n := p.Networks[EgressNet]
			assert.Equal(t, n.Name, "claude-bottle-egress-full-test1")
			assert.Equal(t, n.Driver, "bridge")
			assert.Assert(t, !n.Internal)
			assert.Equal(t, len(n.DriverOpts), 0)
		}},
		{"networks carry the slug label", "full", func(t *testing.T, p *Project) {
			for k, n := range p.Networks {
				assert.Equal(t, n.Labels[contract.LabelSlug], slug, k)
			}
		}},
		{"every service carries the slug label", "full", func(t *testing.T, p *Project) {
			for k, s := range p.Services {
				assert.Equal(t, s.Labels[contract.LabelSlug], slug, k)
			}
		}},
		{"every service has a role label", "full", func(t *testing.T, p *Project) {
			for k, s := range p.Services {
				assert.Equal(t, s.Labels[contract.LabelRole], k, k)
			}
		}},
		{"stop grace at least 10s everywhere", "full", func(t *testing.T, p *Project) {
			for k, s := range p.Services {
				assert.Equal(t, s.StopGracePeriod, "10s", k)
			}
		}},
		{"agent container name", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Services["agent"].ContainerName, "claude-bottle-full-test1")
		}},
		{"sidecar container names", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.Equal(t, p.Services[d].ContainerName, "claude-bottle-"+d+"-full-test1")
			}
		}},
		{"agent only on internal network", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["agent"].Networks), []string{InternalNet})
		}},
		{"agent depends on every sidecar healthy", "full", func(t *testing.T, p *Project) {
			dep := p.Services["agent"].DependsOn
			assert.DeepEqual(t, keys(dep), []string{"egress", "git-gate", "pipelock", "supervise"})
			for k, d := range dep {
				assert.Equal(t, d.Condition, "service_healthy", k)
			}
		}},
		{"agent depends only on present sidecars", "nosupervise", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["agent"].DependsOn), []string{"egress", "pipelock"})
		}},
		{"agent proxies point at egress", "full", func(t *testing.T, p *Project) {
			env := envOf(t, p.Services["agent"])
			for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
				assert.Equal(t, env[k], "http://egress:9099", k)
			}
		}},
		{"agent no_proxy is loopback plus supervise and git-gate", "full", func(t *testing.T, p *Project) {
			env := envOf(t, p.Services["agent"])
			assert.Equal(t, env["NO_PROXY"], "localhost,127.0.0.1,::1,supervise,git-gate")
			assert.Equal(t, env["no_proxy"], env["NO_PROXY"])
		}},
		{"agent CA variables", "full", func(t *testing.T, p *Project) {
			env := envOf(t, p.Services["agent"])
			assert.Equal(t, env["NODE_EXTRA_CA_CERTS"], "/etc/claude-bottle/ca/ca.pem")
			for _, k := range []string{"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO"} {
				assert.Equal(t, env[k], "/etc/ssl/certs/ca-certificates.crt", k)
			}
		}},
		{"agent gets the bottle env", "full", func(t *testing.T, p *Project) {
			env := envOf(t, p.Services["agent"])
			assert.Equal(t, env["LOG_LEVEL"], "debug")
			assert.Equal(t, env["GREETING"], "costs $5")
		}},
		{"agent env escapes dollars for compose", "full", func(t *testing.T, p *Project) {
			assert.Assert(t, is.Contains(p.Services["agent"].Environment, "GREETING=costs $$5"))
		}},
		{"agent never gets a token slot", "full", func(t *testing.T, p *Project) {
			for k := range envOf(t, p.Services["agent"]) {
				assert.Assert(t, !strings.HasPrefix(k, "EGRESS_TOKEN_"), k)
			}
		}},
		{"agent mounts only the CA directory", "full", func(t *testing.T, p *Project) {
			a := p.Services["agent"]
			assert.Equal(t, len(a.Volumes), 1)
			assert.DeepEqual(t, a.Volumes[0], Volume{Type: "bind", Source: home + "/state/full-test1/agent", Target: "/etc/claude-bottle/ca", ReadOnly: true})
		}},
		{"agent image from manifest", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Services["agent"].Image, "claude-bottle-agent-test:latest")
		}},
		{"agent default image", "minimal", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Services["agent"].Image, manifest.DefaultImage)
		}},
		{"sidecars use the sidecar image", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.Equal(t, p.Services[d].Image, contract.DefaultSidecarImage, d)
			}
		}},
		{"pipelock command listens on all addresses", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, p.Services["pipelock"].Command, []string{"pipelock", "run", "--listen", "0.0.0.0:8888", "--config", "/etc/claude-bottle/pipelock/pipelock.yaml"})
		}},
		{"sidecar entrypoint is the multi-call binary", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.DeepEqual(t, p.Services[d].Entrypoint, []string{"/usr/local/bin/claude-bottle-sidecar"})
				assert.Equal(t, p.Services[d].Command[0], d)
			}
		}},
		{"every daemon listens on 0.0.0.0 at its port", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.Assert(t, is.Contains(strings.Join(p.Services[d].Command, " "), "--listen 0.0.0.0:"+strconv.Itoa(contract.Port(d))), d)
			}
		}},
		{"egress upstream is pipelock by alias", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, envOf(t, p.Services["egress"])["EGRESS_UPSTREAM_PROXY"], "http://pipelock:8888")
		}},
		{"egress token slots are names only", "full", func(t *testing.T, p *Project) {
			e := p.Services["egress"]
			assert.Assert(t, is.Contains(e.Environment, "EGRESS_TOKEN_1"))
			assert.Assert(t, is.Contains(e.Environment, "EGRESS_TOKEN_2"))
			assert.Equal(t, len(e.Env()), 4) // upstream, daemons, two tokens
		}},
		{"only egress sees token slots", "full", func(t *testing.T, p *Project) {
			for k, s := range p.Services {
				if k == "egress" {
					continue
				}
				assert.Assert(t, !hasEnv(s, "EGRESS_TOKEN_1"), k)
			}
		}},
		{"no proxy variables on sidecars", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"} {
					assert.Assert(t, !hasEnv(p.Services[d], k), "%s has %s", d, k)
				}
			}
		}},
		{"supervise env", "full", func(t *testing.T, p *Project) {
			env := envOf(t, p.Services["supervise"])
			assert.Equal(t, env["SUPERVISE_BOTTLE_SLUG"], slug)
			assert.Equal(t, env["SUPERVISE_QUEUE_DIR"], "/var/lib/claude-bottle/queue")
			assert.Equal(t, env["SUPERVISE_PORT"], "9100")
		}},
		{"each legacy sidecar selects only itself for health", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.Equal(t, envOf(t, p.Services[d])[contract.DaemonsEnv], d)
			}
		}},
		{"pipelock on the hop and egress networks, never the agent's", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["pipelock"].Networks), []string{EgressNet, HopNet})
		}},
		{"hop network is private to egress and pipelock", "full", func(t *testing.T, p *Project) {
			var on []string
			for _, name := range serviceNames(p) {
				if _, ok := p.Services[name].Networks[HopNet]; ok {
					on = append(on, name)
				}
			}
			assert.DeepEqual(t, on, []string{"egress", "pipelock"})
			n := p.Networks[HopNet]
			assert.Equal(t, n.Name, "claude-bottle-hop-full-test1")
			assert.Assert(t, n.Internal)
			assert.Equal(t, n.DriverOpts[contract.InhibitIPv4], "true")
			assert.Assert(t, !n.EnableIPv6)
			assert.DeepEqual(t, p.Services["pipelock"].Networks[HopNet].Aliases, []string{"pipelock", "claude-bottle-pipelock-full-test1"})
		}},
		{"git-gate on both networks", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["git-gate"].Networks), []string{EgressNet, InternalNet})
		}},
		{"egress on the internal and hop networks", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["egress"].Networks), []string{HopNet, InternalNet})
		}},
		{"supervise only internal", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["supervise"].Networks), []string{InternalNet})
		}},
		{"short and long aliases per daemon", "full", func(t *testing.T, p *Project) {
			for _, d := range []string{"egress", "git-gate", "supervise"} {
				assert.DeepEqual(t, p.Services[d].Networks[InternalNet].Aliases, []string{d, "claude-bottle-" + d + "-full-test1"})
			}
		}},
		{"no aliases on the egress network", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, len(p.Services["pipelock"].Networks[EgressNet].Aliases), 0)
		}},
		{"daemon state mounted read-only at its config dir", "full", func(t *testing.T, p *Project) {
			for _, d := range []string{contract.Egress, contract.Pipelock, contract.GitGate} {
				v := volumeFor(p.Services[d], "/etc/claude-bottle/"+d)
				assert.Assert(t, v != nil, d)
				assert.Equal(t, v.Source, home+"/state/full-test1/"+d)
				assert.Assert(t, v.ReadOnly)
				assert.Equal(t, v.Type, "bind")
			}
		}},
		{"supervise queue mounted writable", "full", func(t *testing.T, p *Project) {
			v := volumeFor(p.Services["supervise"], "/var/lib/claude-bottle/queue")
			assert.Assert(t, v != nil)
			assert.Assert(t, volumeFor(p.Services["supervise"], "/etc/claude-bottle/supervise") == nil, "supervise has no state dir")
			assert.Equal(t, v.Source, home+"/queue/full-test1")
			assert.Assert(t, !v.ReadOnly)
		}},
		{"no single-file mounts", "full", func(t *testing.T, p *Project) {
			for k, s := range p.Services {
				for _, v := range s.Volumes {
					assert.Assert(t, !strings.HasSuffix(v.Source, ".yaml") && !strings.HasSuffix(v.Source, ".pem"), "%s mounts a file: %s", k, v.Source)
				}
			}
		}},
		{"healthcheck on every sidecar", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				h := p.Services[d].Healthcheck
				assert.Assert(t, h != nil, d)
				assert.DeepEqual(t, h.Test, []string{"CMD", "/usr/local/bin/initd", "health"})
				assert.Assert(t, h.Retries > 0)
			}
		}},
		{"sidecars run with init for reaping", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.Assert(t, p.Services[d].Init, d)
			}
		}},
		{"sidecars run as the operator's uid", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.Equal(t, p.Services[d].User, "1000:1000", d)
			}
			assert.Equal(t, p.Services["agent"].User, "", "the agent runs as its image's user")
		}},
		{"sidecars cannot gain privileges", "full", func(t *testing.T, p *Project) {
			for _, d := range contract.Daemons() {
				assert.DeepEqual(t, p.Services[d].SecurityOpt, []string{"no-new-privileges:true"})
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, build(t, tc.fx, contract.Legacy)) })
	}
	assert.Assert(t, len(cases) >= 40, "keep at least 40 legacy cases")
}

func TestBundleShape(t *testing.T) {
	const slug = "full-test1"
	cases := []check{
		{"two services", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, serviceNames(p), []string{"agent", "sidecars"})
		}},
		{"two services without repos or supervise", "nosupervise", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, serviceNames(p), []string{"agent", "sidecars"})
		}},
		{"bundle container name", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Services["sidecars"].ContainerName, "claude-bottle-sidecars-full-test1")
		}},
		{"bundle image", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Services["sidecars"].Image, "claude-bottle-sidecars:latest")
		}},
		{"bundle runs the image entrypoint (initd)", "full", func(t *testing.T, p *Project) {
			s := p.Services["sidecars"]
			assert.Equal(t, len(s.Entrypoint), 0)
			assert.Equal(t, len(s.Command), 0)
		}},
		{"daemon csv of every daemon", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, envOf(t, p.Services["sidecars"])[contract.DaemonsEnv], "egress,pipelock,git-gate,supervise")
		}},
		{"daemon csv of present daemons only", "nosupervise", func(t *testing.T, p *Project) {
			assert.Equal(t, envOf(t, p.Services["sidecars"])[contract.DaemonsEnv], "egress,pipelock")
		}},
		{"daemon csv without git-gate", "minimal", func(t *testing.T, p *Project) {
			assert.Equal(t, envOf(t, p.Services["sidecars"])[contract.DaemonsEnv], "egress,pipelock,supervise")
		}},
		{"on both networks", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["sidecars"].Networks), []string{EgressNet, InternalNet})
		}},
		{"every short and long alias", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, p.Services["sidecars"].Networks[InternalNet].Aliases, []string{
				"egress", "claude-bottle-egress-" + slug,
				"git-gate", "claude-bottle-git-gate-" + slug, "supervise", "claude-bottle-supervise-" + slug,
			})
		}},
		{"aliases only of present daemons", "nosupervise", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, p.Services["sidecars"].Networks[InternalNet].Aliases, []string{
				"egress", "claude-bottle-egress-quiet-test1",
			})
		}},
		{"egress upstream is loopback", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, envOf(t, p.Services["sidecars"])["EGRESS_UPSTREAM_PROXY"], "http://127.0.0.1:8888")
		}},
		{"env is the union of daemon env", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, keys(p.Services["sidecars"].Env()), []string{
				"CLAUDE_BOTTLE_SIDECAR_DAEMONS", "EGRESS_TOKEN_1", "EGRESS_TOKEN_2", "EGRESS_UPSTREAM_PROXY",
				"SUPERVISE_BOTTLE_SLUG", "SUPERVISE_PORT", "SUPERVISE_QUEUE_DIR", "SUPERVISE_WAIT",
			})
		}},
		{"token slots are names only", "full", func(t *testing.T, p *Project) {
			assert.Assert(t, is.Contains(p.Services["sidecars"].Environment, "EGRESS_TOKEN_1"))
		}},
		{"no proxy variables on the bundle", "full", func(t *testing.T, p *Project) {
			for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy"} {
				assert.Assert(t, !hasEnv(p.Services["sidecars"], k), k)
			}
		}},
		{"volumes are the union at the same paths", "full", func(t *testing.T, p *Project) {
			legacy := build(t, "full", contract.Legacy)
			var want []Volume
			for _, d := range contract.Daemons() {
				want = append(want, legacy.Services[d].Volumes...)
			}
			assert.DeepEqual(t, p.Services["sidecars"].Volumes, want)
		}},
		{"volume targets", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, volumeTargets(p.Services["sidecars"]), []string{
				"/etc/claude-bottle/egress", "/etc/claude-bottle/pipelock", "/etc/claude-bottle/git-gate",
				"/var/lib/claude-bottle/queue",
			})
		}},
		{"healthcheck", "full", func(t *testing.T, p *Project) {
			h := p.Services["sidecars"].Healthcheck
			assert.Assert(t, h != nil)
			assert.DeepEqual(t, h.Test, []string{"CMD", "/usr/local/bin/initd", "health"})
		}},
		{"agent depends on sidecars healthy", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, p.Services["agent"].DependsOn, map[string]Dependency{"sidecars": {Condition: "service_healthy"}})
		}},
		{"labels", "full", func(t *testing.T, p *Project) {
			assert.DeepEqual(t, p.Services["sidecars"].Labels, map[string]string{contract.LabelSlug: slug, contract.LabelRole: "sidecars"})
		}},
		{"stop grace", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Services["sidecars"].StopGracePeriod, "10s")
		}},
		{"runs as the operator's uid", "full", func(t *testing.T, p *Project) {
			assert.Equal(t, p.Services["sidecars"].User, "1000:1000")
		}},
		{"networks identical to legacy but the hop", "full", func(t *testing.T, p *Project) {
			legacy := build(t, "full", contract.Legacy).Networks
			delete(legacy, HopNet)
			assert.DeepEqual(t, p.Networks, legacy)
		}},
		{"agent identical to legacy except depends_on", "full", func(t *testing.T, p *Project) {
			a := *p.Services["agent"]
			b := *build(t, "full", contract.Legacy).Services["agent"]
			a.DependsOn, b.DependsOn = nil, nil
			assert.DeepEqual(t, a, b)
		}},
		{"every address the agent dials is an alias of the bundle", "full", func(t *testing.T, p *Project) {
			aliases := p.Services["sidecars"].Networks[InternalNet].Aliases
			env := envOf(t, p.Services["agent"])
			assert.Assert(t, is.Contains(aliases, "egress"), env["HTTPS_PROXY"])
			for _, h := range strings.Split(env["NO_PROXY"], ",")[3:] {
				assert.Assert(t, is.Contains(aliases, h))
			}
		}},
		{"custom sidecar image", "full", func(t *testing.T, _ *Project) {
			r := load(t, "full")
			p, err := Build(Options{Bottle: r, Slug: slug, Shape: contract.Bundle, SidecarImage: "reg.local/sc:v2", Layout: statedir.Layout{Home: home}})
			assert.NilError(t, err)
			assert.Equal(t, p.Services["sidecars"].Image, "reg.local/sc:v2")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, build(t, tc.fx, contract.Bundle)) })
	}
	assert.Assert(t, len(cases) >= 20, "keep at least 20 bundle cases")
}

func TestBuildErrors(t *testing.T) {
	r := load(t, "minimal")
	l := statedir.Layout{Home: home}
	_, err := Build(Options{Slug: "a-abcde", Shape: contract.Legacy, Layout: l})
	assert.ErrorContains(t, err, "no bottle")
	_, err = Build(Options{Bottle: r, Slug: "../x", Shape: contract.Legacy, Layout: l})
	assert.ErrorContains(t, err, "invalid bottle slug")
	_, err = Build(Options{Bottle: r, Slug: "a-abcde", Shape: "triple", Layout: l})
	assert.ErrorContains(t, err, `unknown shape "triple"`)
	_, err = Build(Options{Bottle: r, Slug: "a-abcde", Shape: contract.Legacy})
	assert.ErrorContains(t, err, "no state layout")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
