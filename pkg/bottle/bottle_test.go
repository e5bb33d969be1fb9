package bottle

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/fs"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

const token = "ghp_PlanTestTokenValue0123456789abcdef"

func resolved(t *testing.T, identity string) *manifest.Resolved {
	t.Helper()
	src := `name = "plan"
[[egress.routes]]
host = "api.github.com"
paths = ["/repos/acme/"]
auth = { scheme = "token", token_ref = "PLAN_TOKEN" }
[[egress.routes]]
host = "pypi.org"
[pipelock]
allowlist = ["pypi.org"]
tls_passthrough = ["api.anthropic.com"]
[[git.repos]]
name = "app"
url = "ssh://git@git.example.com:2222/acme/app.git"
identity = "` + identity + `"
host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
`
	m, err := manifest.Parse([]byte(src), "plan.toml")
	assert.NilError(t, err)
	r, err := m.Resolve(func(k string) (string, bool) {
		if k == "PLAN_TOKEN" {
			return token, true
		}
		return "", false
	})
	assert.NilError(t, err)
	return r
}

func TestNewSlug(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		s, err := NewSlug("demo")
		assert.NilError(t, err)
		assert.Assert(t, strings.HasPrefix(s, "demo-"))
		assert.NilError(t, contract.ValidateSlug(s))
		seen[s] = true
	}
	assert.Assert(t, len(seen) > 45, "slugs must be random")
}

func TestPrepareAndStage(t *testing.T) {
	dir := fs.NewDir(t, "plan", fs.WithFile("key", "PRIVATE KEY DATA"))
	home := fs.NewDir(t, "home")
	l := statedir.Layout{Home: home.Path()}
	p, err := Prepare(Options{Bottle: resolved(t, dir.Join("key")), Shape: contract.Bundle, Layout: l,
		Now: func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }})
	assert.NilError(t, err)
	_, err = os.Stat(l.StateDir(p.Slug))
	assert.Assert(t, os.IsNotExist(err), "Prepare must not write")

	assert.NilError(t, p.Stage())
	sd := l.StateDir(p.Slug)

	// Every staged file, and no token value anywhere.
	var all []string
	assert.NilError(t, filepath.Walk(sd, func(path string, info os.FileInfo, err error) error {
		assert.NilError(t, err)
		rel, _ := filepath.Rel(sd, path)
		if info.IsDir() {
			want := os.FileMode(0o700)
			if rel == "agent" { // the public CA only, read by the agent's own user
				want = AgentCADirPerm
				entries, err := os.ReadDir(path)
				assert.NilError(t, err)
				assert.Equal(t, len(entries), 1, "the agent's directory holds the CA certificate alone")
			}
			assert.Equal(t, info.Mode().Perm(), want, rel)
			return nil
		}
		all = append(all, rel)
		b, err := os.ReadFile(path)
		assert.NilError(t, err)
		assert.Assert(t, !strings.Contains(string(b), token), "token value written to %s", rel)
		if strings.HasSuffix(rel, "key.pem") || strings.Contains(rel, "id-") || strings.HasSuffix(rel, "upstream-auth") {
			assert.Equal(t, info.Mode().Perm(), os.FileMode(0o600), rel)
		}
		return nil
	}))
	assert.DeepEqual(t, all, []string{
		"agent/ca.pem", "docker-compose.yml",
		"egress/ca-key.pem", "egress/ca.pem", "egress/routes.yaml", "egress/upstream-auth", "egress/upstream-ca.pem",
		"git-gate/id-app", "git-gate/known_hosts", "git-gate/repos.yaml",
		"metadata.json",
		"pipelock/ca-key.pem", "pipelock/ca.pem", "pipelock/pipelock.yaml",
	})

	// The agent's directory holds the egress CA certificate and nothing else.
	egressCA, err := tlsca.LoadDir(l.EgressStateDir(p.Slug))
	assert.NilError(t, err)
	agentCA, err := os.ReadFile(filepath.Join(l.AgentCADir(p.Slug), "ca.pem"))
	assert.NilError(t, err)
	assert.Equal(t, string(agentCA), string(egressCA.CertPEM))
	pipelockCA, err := tlsca.LoadDir(l.PipelockStateDir(p.Slug))
	assert.NilError(t, err)
	assert.Assert(t, !pipelockCA.Equal(egressCA), "two distinct CAs")
	upstream, err := os.ReadFile(filepath.Join(l.EgressStateDir(p.Slug), "upstream-ca.pem"))
	assert.NilError(t, err)
	assert.Equal(t, string(upstream), string(pipelockCA.CertPEM))

	rb, err := os.ReadFile(filepath.Join(l.EgressStateDir(p.Slug), "routes.yaml"))
	assert.NilError(t, err)
	rf, err := daemoncfg.ParseRoutes(rb)
	assert.NilError(t, err)
	assert.DeepEqual(t, rf.Routes, []daemoncfg.Route{{Host: "api.github.com", Paths: []string{"/repos/acme/"}, Auth: &daemoncfg.Auth{Scheme: "token", TokenEnv: "EGRESS_TOKEN_1"}}, {Host: "pypi.org"}})

	pb, err := os.ReadFile(filepath.Join(l.PipelockStateDir(p.Slug), "pipelock.yaml"))
	assert.NilError(t, err)
	pc, err := daemoncfg.ParsePipelock(pb)
	assert.NilError(t, err)
	assert.DeepEqual(t, pc.APIAllowlist, []string{"api.anthropic.com", "api.github.com", "pypi.org"})
	assert.DeepEqual(t, pc.TLSInterception.PassthroughDomains, []string{"api.anthropic.com"})
	// pipelock knows the token by fingerprint only, allowed to its route host.
	assert.Equal(t, len(pc.DLP.KnownSecrets), 1)
	assert.Equal(t, pc.DLP.KnownSecrets[0].Name, "PLAN_TOKEN")
	assert.Equal(t, pc.DLP.KnownSecrets[0].Length, len(token))
	// With anchors, so pipelock finds it in one pass.
	_, _, anchored, err := pc.DLP.KnownSecrets[0].Anchors()
	assert.NilError(t, err)
	assert.Assert(t, anchored)
	// And with its forms (ROT13, ascii85, … of it: secretfp.Forms),
	// through the YAML.
	assert.Assert(t, len(pc.DLP.KnownSecrets[0].Forms) > 10, "%d forms", len(pc.DLP.KnownSecrets[0].Forms))
	assert.DeepEqual(t, pc.DLP.AllowedCredentials, []daemoncfg.Credential{{Host: "api.github.com", Secret: "PLAN_TOKEN"}})
	// The proxy credential: egress holds it, pipelock its hash.
	auth, err := os.ReadFile(filepath.Join(l.EgressStateDir(p.Slug), "upstream-auth"))
	assert.NilError(t, err)
	sum := sha256.Sum256(auth)
	assert.Equal(t, pc.ForwardProxy.ProxyAuthSHA256, hex.EncodeToString(sum[:]))
	assert.Assert(t, strings.HasPrefix(string(auth), "egress:") && len(auth) > 40)

	kh, err := os.ReadFile(filepath.Join(l.GitGateStateDir(p.Slug), "known_hosts"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(kh), "[git.example.com]:2222 ssh-ed25519 AAAA"))

	meta, err := os.ReadFile(filepath.Join(sd, "metadata.json"))
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(string(meta), `"shape": "bundle"`))
	assert.Assert(t, is.Contains(string(meta), `"started_at": "2026-11-27T00:00:00Z"`))

	_, err = os.Stat(l.QueueDir(p.Slug))
	assert.NilError(t, err)
	assert.ErrorContains(t, p.Stage(), "already exists")
}

func TestPrepareMissingIdentityWritesNothing(t *testing.T) {
	home := fs.NewDir(t, "home")
	l := statedir.Layout{Home: home.Path()}
	_, err := Prepare(Options{Bottle: resolved(t, "/nonexistent/key"), Shape: contract.Legacy, Layout: l})
	assert.ErrorContains(t, err, "git repo app: identity: open /nonexistent/key")
	_, err = os.Stat(l.StateRoot())
	assert.Assert(t, os.IsNotExist(err))
}

func TestSSHHost(t *testing.T) {
	for u, want := range map[string][2]string{
		"ssh://git@git.example.com/acme/app.git":      {"git.example.com", ""},
		"ssh://git@git.example.com:2222/acme/app.git": {"git.example.com", "2222"},
		"ssh://git.example.com/x":                     {"git.example.com", ""},
		"git@github.com:acme/app.git":                 {"github.com", ""},
	} {
		h, p := sshHost(u)
		assert.DeepEqual(t, [2]string{h, p}, want)
	}
}
