//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/internal/leakcheck"
	"github.com/claude-bottle/claude-bottle/internal/standin"
	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/docker"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/names"
	"github.com/claude-bottle/claude-bottle/pkg/pipelockcfg"
	"github.com/claude-bottle/claude-bottle/pkg/selftest"
	"github.com/claude-bottle/claude-bottle/pkg/sidecarflag"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

var (
	standinOnce sync.Once
	standinBin  string
	standinErr  error
)

// standinBinary builds the stand-in internet's static binary once per run.
func standinBinary(t *testing.T) string {
	t.Helper()
	standinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cb-standin-")
		if err != nil {
			standinErr = err
			return
		}
		standinBin = filepath.Join(dir, "standin")
		cmd := exec.Command("go", "build", "-trimpath", "-o", standinBin, "./internal/standin/cmd/standin")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			standinErr = fmt.Errorf("build the stand-in: %v\n%s", err, out)
		}
	})
	assert.NilError(t, standinErr)
	return standinBin
}

// freeSubnet picks a /24 in 10.231.0.0/16 that no engine network uses.
func freeSubnet(t *testing.T, env *itest.Env) *net.IPNet {
	t.Helper()
	nets, err := env.Pool.Client.ListNetworks()
	assert.NilError(t, err)
	var used []*net.IPNet
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if _, ipn, err := net.ParseCIDR(c.Subnet); err == nil {
				used = append(used, ipn)
			}
		}
	}
	for range 200 {
		_, cand, _ := net.ParseCIDR(fmt.Sprintf("10.231.%d.0/24", 1+rand.IntN(250)))
		if !slices.ContainsFunc(used, func(u *net.IPNet) bool { return u.Contains(cand.IP) || cand.Contains(u.IP) }) {
			return cand
		}
	}
	t.Fatal("no free /24 in 10.231.0.0/16")
	return nil
}

func hostIP(n *net.IPNet, last byte) string {
	ip := slices.Clone(n.IP.To4())
	ip[3] = last
	return ip.String()
}

// TestSandboxEscape is the acceptance test of DESIGN.md §9: a real bottle
// (brought up by the same backend as `claude-bottle up`, in the shape of
// CLAUDE_BOTTLE_SIDECAR_BUNDLE) beside a stand-in internet on its egress
// network — an HTTPS server answering for the allowed hosts, another for
// the attacker's, a recording DNS server the sidecars resolve through, and
// an SSH git upstream. `claude-bottle selftest` runs the five attacks and
// the positive controls inside the agent; then the far side must show that
// nothing carried a planted secret in any encoding.
func TestSandboxEscape(t *testing.T) {
	env := itest.Require(t)
	sidecarImage(t, env)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	env.RequireImage(t, images.GitUpstreamTestImage, "build:gitUpstreamTest")
	shape := sidecarflag.FromEnv(itest.LookupEnv)
	bin := standinBinary(t)

	// The throwaway CA of the stand-in internet.
	caDir := t.TempDir()
	ca, err := tlsca.New("escape suite stand-in CA", tlsca.Options{})
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(caDir, "ca.pem"), ca.CertPEM, 0o644))
	assert.NilError(t, os.WriteFile(filepath.Join(caDir, "ca-key.pem"), ca.KeyPEM, 0o644))

	keys := t.TempDir()
	hostKey := keygen(t, filepath.Join(keys, "ssh_host_ed25519_key"))
	clientPub := keygen(t, filepath.Join(keys, "client"))
	assert.NilError(t, os.WriteFile(filepath.Join(keys, "authorized_keys"), []byte(clientPub+"\n"), 0o644))

	const routeToken = "rt_EscapeSuiteRouteCredential7f3a9c2e"
	lookup := func(k string) (string, bool) {
		if k == "CB_ESCAPE_ROUTE_TOKEN" {
			return routeToken, true
		}
		v, ok := planted[k]
		return v, ok
	}
	src := `name = "escape"
image = "` + images.AgentTestImage + `"
[env]
PLANTED_ANTHROPIC = "${PLANTED_ANTHROPIC}"
PLANTED_AWS = "${PLANTED_AWS}"
PLANTED_GENERIC = "${PLANTED_GENERIC}"
[[egress.routes]]
host = "www.allowed.test"
[[egress.routes]]
host = "api.allowed.test"
auth = { scheme = "Bearer", token_ref = "CB_ESCAPE_ROUTE_TOKEN" }
[dlp]
canaries = ["PLANTED_ANTHROPIC", "PLANTED_AWS", "PLANTED_GENERIC"]
[[git.repos]]
name = "app"
url = "ssh://git@code.forge.test/srv/git/app.git"
identity = "` + filepath.Join(keys, "client") + `"
host_key = "` + hostKey + `"
[supervise]
enabled = true
`
	m, err := manifest.Parse([]byte(src), "escape.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(lookup)
	assert.NilError(t, err)
	layout := statedir.Layout{Home: t.TempDir()}
	plan, err := bottle.Prepare(bottle.Options{Bottle: r, Shape: shape, Layout: layout, User: compose.OperatorUser()})
	assert.NilError(t, err)

	// Place the stand-in internet: pin the egress network's subnet, make
	// the sidecars resolve outside names through the recording DNS server,
	// let pipelock reach that private subnet and trust the throwaway CA.
	subnet := freeSubnet(t, env)
	dnsIP, attackerIP := hostIP(subnet, 53), hostIP(subnet, 66)
	plan.Project.Networks[compose.EgressNet].IPAM = &compose.IPAM{Config: []compose.IPAMPool{{Subnet: subnet.String()}}}
	for name, s := range plan.Project.Services {
		if name != compose.AgentService {
			s.DNS = []string{dnsIP}
		}
	}
	composeYAML, err := plan.Project.YAML()
	assert.NilError(t, err)
	for i, f := range plan.Files {
		switch {
		case f.Dir == "" && f.Name == statedir.ComposeFile:
			plan.Files[i].Data = composeYAML
		case f.Dir == names.Pipelock && f.Name == statedir.PipelockFile:
			cfg, err := pipelockcfg.Parse(f.Data)
			assert.NilError(t, err)
			cfg.SSRF.AllowCIDRs = []string{subnet.String()}
			cfg.TLSInterception.ExtraCAFile = names.ConfigDir(names.Pipelock) + "/standin-ca.pem"
			plan.Files[i].Data, err = cfg.Marshal()
			assert.NilError(t, err)
		}
	}
	plan.Files = append(plan.Files, statedir.File{Dir: names.Pipelock, Name: "standin-ca.pem", Data: ca.CertPEM, Perm: statedir.PublicPerm})
	assert.NilError(t, plan.Stage())

	eng, err := docker.Connect(t.Context())
	assert.NilError(t, err)
	defer func() { _ = eng.Close() }()
	var upOut bytes.Buffer
	start := time.Now()
	err = eng.Up(t.Context(), plan, r.TokenEnv(), &upOut)
	assert.NilError(t, err, upOut.String())
	t.Logf("bottle %s up (%s shape) in %.1fs", plan.Slug, shape, time.Since(start).Seconds())
	t.Cleanup(func() {
		if err := eng.Down(context.Background(), layout, plan.Slug, false); err != nil {
			t.Logf("down %s: %v", plan.Slug, err)
		}
	})

	egressNet := names.EgressNetwork(plan.Slug)
	internet := env.Run(t, itest.RunSpec{Name: "esc-internet", Image: images.AgentTestImage, Network: egressNet, IP: dnsIP,
		Aliases: []string{"www.allowed.test", "api.allowed.test"}, Entrypoint: []string{"/standin/standin"},
		Cmd: []string{"-name", "internet", "-ca-dir", "/standin/ca", "-dns"}, Binds: []string{bin + ":/standin/standin:ro", caDir + ":/standin/ca:ro"}})
	attacker := env.Run(t, itest.RunSpec{Name: "esc-attacker", Image: images.AgentTestImage, Network: egressNet, IP: attackerIP,
		Aliases: []string{"evil.attacker.test"}, Entrypoint: []string{"/standin/standin"},
		Cmd: []string{"-name", "attacker", "-ca-dir", "/standin/ca"}, Binds: []string{bin + ":/standin/standin:ro", caDir + ":/standin/ca:ro"}})
	upstream := env.Run(t, itest.RunSpec{Name: "esc-upstream", Image: images.GitUpstreamTestImage, Network: egressNet,
		Aliases: []string{"code.forge.test"}, Binds: []string{keys + ":/etc/ssh/test:ro"}})
	res := upstream.Exec(t, `set -e
git init -q --bare -b main /srv/git/app.git
git init -q -b main /tmp/w && cd /tmp/w
git -c user.name=up -c user.email=up@test commit -q --allow-empty -m "initial upstream commit"
git push -q /srv/git/app.git main
chown -R git:git /srv/git`)
	assert.Equal(t, res.Code, 0, res.Stdout+res.Stderr)
	for _, c := range []*itest.Container{internet, attacker} {
		waitFor(t, 20*time.Second, func() (bool, string) {
			l := c.Logs(t)
			return strings.Contains(l, "listening"), l
		})
	}

	// Control of the recorder: a name the sidecars resolve reaches it.
	sidecar := names.SidecarContainer(names.Pipelock, plan.Slug)
	if shape == sidecarflag.Bundle {
		sidecar = names.BundleContainer(plan.Slug)
	}
	probe := fmt.Sprintf("dns-control-%d.example.org", rand.IntN(1e9))
	_, _, err = eng.Exec(t.Context(), sidecar, "", []string{"getent", "hosts", probe})
	assert.NilError(t, err)

	// The attacks and controls, through the CLI as a user would run them.
	run := cliRunner(t, map[string]string{"CLAUDE_BOTTLE_HOME": layout.Home})
	start = time.Now()
	code, out, errOut := run("selftest", plan.Slug, "--json", "--secret-env", "PLANTED_ANTHROPIC,PLANTED_AWS,PLANTED_GENERIC",
		"--attacker-host", "evil.attacker.test", "--attacker-ip", attackerIP, "--clean-push", "--expect", "standin internet:")
	elapsed := time.Since(start)
	var report struct {
		Results []selftest.Result `json:"results"`
		Failed  int               `json:"failed"`
	}
	assert.NilError(t, json.Unmarshal([]byte(out), &report), out+errOut)
	perAttack := map[int][2]int{}
	for _, res := range report.Results {
		c := perAttack[res.Attack]
		c[0]++
		if res.Pass {
			c[1]++
		}
		perAttack[res.Attack] = c
		verdict := "ok  "
		if !res.Pass {
			verdict = "FAIL"
		}
		t.Logf("%s %-32s %s", verdict, res.ID, res.Answer)
	}
	for a := 0; a <= 5; a++ {
		t.Logf("escape summary (%s): attack %d: %d/%d passed", shape, a, perAttack[a][1], perAttack[a][0])
	}
	t.Logf("escape summary (%s): %d cases in %.1fs", shape, len(report.Results), elapsed.Seconds())
	assert.Equal(t, code, 0, errOut)
	assert.Equal(t, report.Failed, 0)
	// Every sub-case of DESIGN.md §9 really ran.
	want := []string{"0/allowed-get", "0/injected-credential", "0/clean-push", "1/host", "1/host-http", "2/ip-literal",
		"2/host-header-spoof", "2/connect-to-spoof", "2/host-mismatch", "2/direct-ip", "2/resolve-spoof-direct"}
	for _, s := range []string{"planted_anthropic", "planted_aws", "planted_generic"} {
		for _, p := range []string{"path", "query", "body", "header"} {
			want = append(want, "3/"+s+"/"+p)
		}
		want = append(want, "4/"+s+"/subdomain", "4/"+s+"/dig-outside", "4/"+s+"/dig-bottle", "5/"+s+"/readme-push")
	}
	var got []string
	for _, res := range report.Results {
		got = append(got, res.ID)
	}
	for _, id := range want {
		assert.Assert(t, slices.Contains(got, id), "case %s did not run", id)
	}

	// The far side. What the stand-in internet received:
	internetRecs, err := standin.ParseRecords(internet.Logs(t))
	assert.NilError(t, err)
	attackerRecs, err := standin.ParseRecords(attacker.Logs(t))
	assert.NilError(t, err)
	assert.Equal(t, len(attackerRecs), 0, "the attacker's server was reached: %+v", attackerRecs)
	var sawGet, sawCredential, sawProbe bool
	for _, rec := range internetRecs {
		hits := leakcheck.Find(rec.Text(), planted)
		assert.Assert(t, len(hits) == 0, "the stand-in internet received %v in a %s record (%s %s %s)", hits, rec.Kind, rec.Method, rec.Host, rec.Name)
		switch {
		case rec.Kind == "http" && rec.Host == "www.allowed.test" && rec.URI == "/":
			sawGet = true
		case rec.Kind == "http" && rec.Host == "api.allowed.test":
			sawCredential = sawCredential || slices.Contains(rec.Headers["Authorization"], "Bearer "+routeToken)
		case rec.Kind == "dns" && rec.Name == probe:
			sawProbe = true
		}
		if rec.Kind == "dns" && rec.Name != probe {
			t.Logf("recorded DNS query %q", rec.Name)
		}
	}
	assert.Assert(t, sawGet, "control: the allowed GET did not reach the stand-in")
	assert.Assert(t, sawCredential, "control: egress' credential did not reach its route host")
	assert.Assert(t, sawProbe, "control: the sidecars' resolver does not go through the recording DNS server")

	// The upstream: only the clean branch arrived, and no object carries a secret.
	res = upstream.Exec(t, "git --git-dir=/srv/git/app.git for-each-ref --format='%(refname)'; git --git-dir=/srv/git/app.git cat-file --batch-all-objects --batch")
	assert.Equal(t, res.Code, 0, res.Stderr)
	refs := strings.Fields(strings.SplitN(res.Stdout, "\n", 3)[0] + " " + strings.SplitN(res.Stdout, "\n", 3)[1])
	assert.DeepEqual(t, refs, []string{"refs/heads/claude-bottle-selftest-clean", "refs/heads/main"})
	assert.Assert(t, is.Len(leakcheck.Find(res.Stdout, planted), 0))

	// Nothing of the secrets in the sidecars' own logs either.
	for _, c := range []string{sidecar, names.SidecarContainer(names.Egress, plan.Slug), names.SidecarContainer(names.GitGate, plan.Slug)} {
		logs, err := eng.Logs(t.Context(), c)
		if err != nil {
			continue // bundle: one container
		}
		for _, line := range strings.Split(logs, "\n") {
			if hits := leakcheck.Find(line, planted); len(hits) > 0 {
				t.Errorf("%v in the logs of %s: %.300s", hits, c, line)
			}
		}
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %s", d, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
