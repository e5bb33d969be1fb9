package itest

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/bottle"
	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/images"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

// Internet is the stand-in internet for a bottle that other code (the CLI's
// run) brings up: Adjust fits the bottle's plan to it before staging (the
// egress network's subnet pinned, the sidecars resolving through the
// recording DNS server, pipelock trusting the throwaway CA and allowed to
// reach the subnet), and Start runs the recording HTTPS/DNS server on the
// bottle's egress network, answering for the given host names.
type Internet struct {
	CA     *tlsca.CA
	CADir  string
	Subnet *net.IPNet
	DNSIP  string
	// Server is the stand-in once started.
	Server *Container
}

// NewInternet picks a subnet and mints the throwaway CA.
func (e *Env) NewInternet(t testing.TB) *Internet {
	t.Helper()
	in := &Internet{CADir: t.TempDir()}
	var err error
	if in.CA, err = tlsca.New("stand-in internet CA (throwaway)", tlsca.Options{}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ca.pem": in.CA.CertPEM, "ca-key.pem": in.CA.KeyPEM} {
		if err := os.WriteFile(filepath.Join(in.CADir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in.Subnet = e.freeSubnet(t)
	in.DNSIP = hostIP(in.Subnet, 53)
	return in
}

// Adjust fits plan to the stand-in internet; it runs before plan.Stage.
func (in *Internet) Adjust(plan *bottle.Plan) error {
	plan.Project.Networks[compose.EgressNet].IPAM = &compose.IPAM{Config: []compose.IPAMPool{{Subnet: in.Subnet.String()}}}
	for name, s := range plan.Project.Services {
		if name != compose.AgentService {
			s.DNS = []string{in.DNSIP}
		}
	}
	composeYAML, err := plan.Project.YAML()
	if err != nil {
		return err
	}
	for i, f := range plan.Files {
		switch {
		case f.Dir == "" && f.Name == statedir.ComposeFile:
			plan.Files[i].Data = composeYAML
		case f.Dir == contract.Pipelock && f.Name == contract.PipelockFile:
			cfg, err := daemoncfg.ParsePipelock(f.Data)
			if err != nil {
				return err
			}
			cfg.SSRF.AllowCIDRs = []string{in.Subnet.String()}
			cfg.TLSInterception.ExtraCAFile = contract.ConfigDir(contract.Pipelock) + "/standin-ca.pem"
			if plan.Files[i].Data, err = cfg.Marshal(); err != nil {
				return err
			}
		}
	}
	plan.Files = append(plan.Files, statedir.File{Dir: contract.Pipelock, Name: "standin-ca.pem", Data: in.CA.CertPEM, Perm: statedir.PublicPerm})
	return nil
}

// Start runs the stand-in on slug's egress network, answering for hosts.
func (in *Internet) Start(t testing.TB, e *Env, slug string, hosts ...string) {
	t.Helper()
	bin := ToolBinary(t, "standin")
	in.Server = e.Run(t, RunSpec{Name: "run-internet", Image: images.AgentTestImage, Network: contract.EgressNetwork(slug), IP: in.DNSIP,
		Aliases: hosts, Entrypoint: []string{"/standin/standin"},
		Cmd:   []string{"-name", "internet", "-dns", "-ca-dir", "/standin/ca"},
		Binds: []string{bin + ":/standin/standin:ro", in.CADir + ":/standin/ca:ro"}})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(in.Server.Logs(t), "listening") {
		if time.Now().After(deadline) {
			t.Fatalf("stand-in did not start: %s", in.Server.Logs(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
