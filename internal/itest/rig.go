package itest

import (
	"bytes"
	"context"
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

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/lifecycle"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// Host names the stand-in internet answers for.
const (
	AllowedHost  = "www.allowed.test"
	AuthHost     = "api.allowed.test"
	AttackerHost = "evil.attacker.test"
	UpstreamHost = "code.forge.test"
)

var (
	toolsOnce sync.Once
	toolsDir  string
	toolsErr  error
)

// ToolBinary builds one of the test tools (internal/standin/cmd/standin,
// internal/benchload/cmd/benchload) as a static linux binary, once per run,
// and returns its path.
func ToolBinary(t testing.TB, name string) string {
	t.Helper()
	toolsOnce.Do(func() {
		root, err := images.SourceRoot(".", os.LookupEnv)
		if err != nil {
			toolsErr = err
			return
		}
		if toolsDir, toolsErr = os.MkdirTemp("", "cb-tools-"); toolsErr != nil {
			return
		}
		for _, pkg := range []string{"./internal/standin/cmd/standin", "./internal/benchload/cmd/benchload"} {
			cmd := exec.Command("go", "build", "-trimpath", "-o", toolsDir+"/", pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
			if out, err := cmd.CombinedOutput(); err != nil {
				toolsErr = fmt.Errorf("build %s: %w\n%s", pkg, err, out)
				return
			}
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return filepath.Join(toolsDir, name)
}

// Keygen makes an ed25519 key pair at path and returns the public key line.
func Keygen(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pub))
}

// subnets are the /24s freeSubnet handed to rigs of this process whose
// networks may not exist yet: rigs brought up at once (parallel subtests)
// must not pick the same one between listing the engine's networks and
// creating their own.
var subnets struct {
	sync.Mutex
	taken []*net.IPNet
}

// freeSubnet picks a /24 in 10.231.0.0/16 that no engine network uses and
// no other rig of this process holds; the rig holds it until the test ends.
func (e *Env) freeSubnet(t testing.TB) *net.IPNet {
	t.Helper()
	subnets.Lock()
	defer subnets.Unlock()
	nets, err := e.Eng.ListNetworks(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var used []*net.IPNet
	for _, n := range nets {
		for _, subnet := range n.Subnets {
			if _, ipn, err := net.ParseCIDR(subnet); err == nil {
				used = append(used, ipn)
			}
		}
	}
	used = append(used, subnets.taken...)
	for range 200 {
		_, cand, _ := net.ParseCIDR(fmt.Sprintf("10.231.%d.0/24", 1+rand.IntN(250))) //nolint:gosec // G404: a test subnet, not a secret
		if !slices.ContainsFunc(used, func(u *net.IPNet) bool { return u.Contains(cand.IP) || cand.Contains(u.IP) }) {
			subnets.taken = append(subnets.taken, cand)
			// Registered before the rig's down, so it runs after it.
			t.Cleanup(func() {
				subnets.Lock()
				defer subnets.Unlock()
				subnets.taken = slices.DeleteFunc(subnets.taken, func(n *net.IPNet) bool { return n == cand })
			})
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

// RigOptions describe a bottle beside a stand-in internet.
type RigOptions struct {
	// Manifest is the bottle; {{IDENTITY}} and {{HOST_KEY}} are replaced
	// by the git upstream's client key path and host key.
	Manifest string
	Lookup   func(string) (string, bool)
	Shape    contract.Shape
	// Upstream adds the SSH git upstream (alias UpstreamHost) with a bare
	// repo /srv/git/app.git holding one commit on main.
	Upstream bool
	// Quiet stand-ins record nothing (benchmarks: no log volume).
	Quiet bool
	// InternetAliases are more names the stand-in internet answers for
	// (a bottle's own route hosts), beside AllowedHost and AuthHost.
	InternetAliases []string
}

// Rig is a running bottle whose egress network also carries the stand-in
// internet: "internet" (AllowedHost, AuthHost; also the recording DNS
// server the sidecars resolve through), "attacker" (AttackerHost, at
// AttackerIP) and optionally the SSH git upstream. Everything is removed
// when the test ends.
type Rig struct {
	Plan       *bottle.Plan
	Layout     statedir.Layout
	Eng        *lifecycle.Backend
	Subnet     *net.IPNet
	DNSIP      string
	AttackerIP string
	CA         *tlsca.CA
	CADir      string
	Internet   *Container
	Attacker   *Container
	Upstream   *Container
	UpTime     time.Duration
	UpOutput   string
}

// StandinRig brings up a bottle (through the same backend as `claude-bottle
// up`) and its stand-in internet. The egress network's subnet is pinned so
// the stand-ins sit at known addresses; the sidecars resolve outside names
// through the recording DNS server; pipelock may reach that private subnet
// and trusts the run's throwaway CA.
func (e *Env) StandinRig(t testing.TB, opts RigOptions) *Rig {
	t.Helper()
	bin := ToolBinary(t, "standin")
	rig := &Rig{Layout: statedir.Layout{Home: t.TempDir()}, CADir: t.TempDir()}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rig.CA, err = tlsca.New("stand-in internet CA (throwaway)", tlsca.Options{})
	must(err)
	must(os.WriteFile(filepath.Join(rig.CADir, "ca.pem"), rig.CA.CertPEM, 0o644))
	must(os.WriteFile(filepath.Join(rig.CADir, "ca-key.pem"), rig.CA.KeyPEM, 0o644))

	src := opts.Manifest
	keys := t.TempDir()
	if opts.Upstream {
		hostKey := Keygen(t, filepath.Join(keys, "ssh_host_ed25519_key"))
		clientPub := Keygen(t, filepath.Join(keys, "client"))
		must(os.WriteFile(filepath.Join(keys, "authorized_keys"), []byte(clientPub+"\n"), 0o644))
		src = strings.NewReplacer("{{IDENTITY}}", filepath.Join(keys, "client"), "{{HOST_KEY}}", hostKey).Replace(src)
	}
	lookup := opts.Lookup
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	m, err := manifest.Parse([]byte(src), "rig.toml")
	must(err)
	r, err := m.Resolve(lookup)
	must(err)
	plan, err := bottle.Prepare(bottle.Options{Bottle: r, Shape: opts.Shape, SidecarImage: contract.SidecarImage(LookupEnv), Layout: rig.Layout, User: compose.OperatorUser()})
	must(err)
	rig.Plan = plan

	rig.Subnet = e.freeSubnet(t)
	rig.DNSIP, rig.AttackerIP = hostIP(rig.Subnet, 53), hostIP(rig.Subnet, 66)
	plan.Project.Networks[compose.EgressNet].IPAM = &compose.IPAM{Config: []compose.IPAMPool{{Subnet: rig.Subnet.String()}}}
	for name, s := range plan.Project.Services {
		if name != compose.AgentService {
			s.DNS = []string{rig.DNSIP}
		}
	}
	composeYAML, err := plan.Project.YAML()
	must(err)
	for i, f := range plan.Files {
		switch {
		case f.Dir == "" && f.Name == statedir.ComposeFile:
			plan.Files[i].Data = composeYAML
		case f.Dir == contract.Pipelock && f.Name == contract.PipelockFile:
			cfg, err := daemoncfg.ParsePipelock(f.Data)
			must(err)
			cfg.SSRF.AllowCIDRs = []string{rig.Subnet.String()}
			cfg.TLSInterception.ExtraCAFile = contract.ConfigDir(contract.Pipelock) + "/standin-ca.pem"
			plan.Files[i].Data, err = cfg.Marshal()
			must(err)
		}
	}
	plan.Files = append(plan.Files, statedir.File{Dir: contract.Pipelock, Name: "standin-ca.pem", Data: rig.CA.CertPEM, Perm: statedir.PublicPerm})
	must(plan.Stage())

	rig.Eng, err = lifecycle.Connect(context.Background())
	must(err)
	t.Cleanup(func() { _ = rig.Eng.Close() })
	var upOut bytes.Buffer
	start := time.Now()
	err = rig.Eng.Up(context.Background(), plan, r.TokenEnv(), &upOut)
	rig.UpTime, rig.UpOutput = time.Since(start), upOut.String()
	if err != nil {
		t.Fatalf("up: %v\n%s", err, upOut.String())
	}
	t.Cleanup(func() {
		if err := rig.Eng.Down(context.Background(), rig.Layout, plan.Slug, false); err != nil {
			t.Logf("down %s: %v", plan.Slug, err)
		}
	})

	egressNet := contract.EgressNetwork(plan.Slug)
	binds := []string{bin + ":/standin/standin:ro", rig.CADir + ":/standin/ca:ro"}
	args := []string{"-ca-dir", "/standin/ca"}
	if opts.Quiet {
		args = append(args, "-quiet")
	}
	// The stand-ins run as root on purpose: they bind 53 and 443.
	// The stand-ins' names carry the slug: rigs of one test may run at once.
	rig.Internet = e.Run(t, RunSpec{Name: "rig-internet-" + plan.Slug, Image: images.AgentTestImage, Network: egressNet, IP: rig.DNSIP, User: "0",
		Aliases: append([]string{AllowedHost, AuthHost}, opts.InternetAliases...), Entrypoint: []string{"/standin/standin"},
		Cmd: append([]string{"-name", "internet", "-dns"}, args...), Binds: binds})
	rig.Attacker = e.Run(t, RunSpec{Name: "rig-attacker-" + plan.Slug, Image: images.AgentTestImage, Network: egressNet, IP: rig.AttackerIP, User: "0",
		Aliases: []string{AttackerHost}, Entrypoint: []string{"/standin/standin"},
		Cmd: append([]string{"-name", "attacker"}, args...), Binds: binds})
	if opts.Upstream {
		rig.Upstream = e.Run(t, RunSpec{Name: "rig-upstream-" + plan.Slug, Image: images.GitUpstreamTestImage, Network: egressNet,
			Aliases: []string{UpstreamHost}, Binds: []string{keys + ":/etc/ssh/test:ro"}})
		res := rig.Upstream.Exec(t, `set -e
git init -q --bare -b main /srv/git/app.git
git init -q -b main /tmp/w && cd /tmp/w
git -c user.name=up -c user.email=up@test commit -q --allow-empty -m "initial upstream commit"
git push -q /srv/git/app.git main
chown -R git:git /srv/git`)
		if res.Code != 0 {
			t.Fatalf("upstream repo: %s%s", res.Stdout, res.Stderr)
		}
	}
	for _, c := range []*Container{rig.Internet, rig.Attacker} {
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(c.Logs(t), "listening") {
			if time.Now().After(deadline) {
				t.Fatalf("stand-in did not start: %s", c.Logs(t))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return rig
}

// SidecarFor names the container running daemon in the rig's shape.
func (r *Rig) SidecarFor(daemon string) string {
	if r.Plan.Shape == contract.Bundle {
		return contract.BundleContainer(r.Plan.Slug)
	}
	return contract.SidecarContainer(daemon, r.Plan.Slug)
}
