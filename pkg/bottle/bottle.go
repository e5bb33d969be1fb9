// Package bottle turns a resolved manifest into everything a bottle runs on:
// its slug, the files of its state directory (daemon configs, CAs, the
// compose file) and the compose project. Prepare touches no disk; Stage writes
// the state directory in one atomic step.
package bottle

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/pkg/compose"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/daemoncfg"
	"github.com/claude-bottle/claude-bottle/pkg/manifest"
	"github.com/claude-bottle/claude-bottle/pkg/secretfp"
	"github.com/claude-bottle/claude-bottle/pkg/statedir"
	"github.com/claude-bottle/claude-bottle/pkg/tlsca"
)

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// NewSlug returns name + "-" + 5 random base36 characters.
func NewSlug(name string) (string, error) {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('-')
	for range 5 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(base36))))
		if err != nil {
			return "", fmt.Errorf("new slug: %w", err)
		}
		b.WriteByte(base36[n.Int64()])
	}
	slug := b.String()
	return slug, contract.ValidateSlug(slug)
}

// Options are the inputs of Prepare.
type Options struct {
	Bottle *manifest.Resolved
	// Slug defaults to a fresh NewSlug(Bottle.Name).
	Slug         string
	Shape        contract.Shape
	SidecarImage string
	Layout       statedir.Layout
	// User is the uid:gid of the sidecars (see compose.Options.User).
	User string
	// Now defaults to time.Now.
	Now func() time.Time
}

// Plan is a prepared bottle: nothing of it is on disk until Stage.
type Plan struct {
	Slug     string
	Shape    contract.Shape
	Bottle   *manifest.Resolved
	Layout   statedir.Layout
	Project  *compose.Project
	Metadata Metadata
	EgressCA *tlsca.CA
	Files    []statedir.File
	// AgentSetup is a shell script the agent's provisioning runs last as
	// uid 0 (without capabilities), in the same exec (`claude-bottle run`:
	// checks and the workspace directory).
	AgentSetup string
	// AgentUserSetup, when set, runs after AgentSetup as AgentUser
	// (`claude-bottle run`: Claude Code's settings and the workspace clone);
	// it also registers supervise with Claude Code, so provisioning does not.
	AgentUserSetup string
	// AgentUser is the user AgentUserSetup runs as ("" = the image's USER).
	AgentUser string
}

// Metadata is metadata.json.
type Metadata struct {
	Name           string    `json:"name"`
	Slug           string    `json:"slug"`
	Shape          string    `json:"shape"`
	StartedAt      time.Time `json:"started_at"`
	ComposeProject string    `json:"compose_project"`
	ManifestPath   string    `json:"manifest_path"`
	Daemons        []string  `json:"daemons"`
	SidecarImage   string    `json:"sidecar_image"`
	AgentImage     string    `json:"agent_image"`
}

// Prepare generates the bottle's CAs and renders every file of its state
// directory and its compose project. Missing inputs (an identity file) are
// reported here, before anything is written.
func Prepare(opts Options) (*Plan, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SidecarImage == "" {
		opts.SidecarImage = contract.DefaultSidecarImage
	}
	r := opts.Bottle
	slug := opts.Slug
	if slug == "" {
		var err error
		if slug, err = NewSlug(r.Name); err != nil {
			return nil, err
		}
	}
	project, err := compose.Build(compose.Options{Bottle: r, Slug: slug, Shape: opts.Shape, SidecarImage: opts.SidecarImage, Layout: opts.Layout, User: opts.User})
	if err != nil {
		return nil, err
	}
	composeYAML, err := project.YAML()
	if err != nil {
		return nil, err
	}
	egressCA, err := tlsca.New("claude-bottle egress CA "+slug, tlsca.Options{Now: opts.Now})
	if err != nil {
		return nil, err
	}
	pipelockCA, err := tlsca.New("claude-bottle pipelock CA "+slug, tlsca.Options{Now: opts.Now})
	if err != nil {
		return nil, err
	}
	routesYAML, err := EgressRoutes(r).Marshal()
	if err != nil {
		return nil, err
	}
	pcfg := PipelockConfig(r.Manifest)
	tfs, err := r.TokenFingerprints()
	if err != nil {
		return nil, err
	}
	pcfg.DLP.KnownSecrets = append(pcfg.DLP.KnownSecrets, r.CanaryFingerprints()...)
	for _, tf := range tfs {
		pcfg.DLP.KnownSecrets = append(pcfg.DLP.KnownSecrets, tf.Fingerprint)
		for _, u := range tf.Uses {
			c := daemoncfg.Credential{Host: u.Host, Secret: tf.Fingerprint.Name}
			if u.Header != "Authorization" {
				c.Header = u.Header
			}
			pcfg.DLP.AllowedCredentials = append(pcfg.DLP.AllowedCredentials, c)
		}
	}
	// The per-bottle proxy credential: egress holds it, pipelock holds its
	// hash, the agent has neither.
	var pw [32]byte
	if _, err := rand.Read(pw[:]); err != nil {
		return nil, fmt.Errorf("proxy credential: %w", err)
	}
	proxyAuth := "egress:" + hex.EncodeToString(pw[:])
	authSum := sha256.Sum256([]byte(proxyAuth))
	pcfg.ForwardProxy.ProxyAuthSHA256 = hex.EncodeToString(authSum[:])
	pipelockYAML, err := pcfg.Marshal()
	if err != nil {
		return nil, err
	}
	meta := Metadata{
		Name: r.Name, Slug: slug, Shape: string(opts.Shape), StartedAt: opts.Now().UTC(),
		ComposeProject: project.Name, ManifestPath: r.Source, Daemons: compose.Daemons(r.Manifest),
		SidecarImage: opts.SidecarImage, AgentImage: r.Image,
	}
	metaJSON, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}

	const pub, priv = statedir.PublicPerm, statedir.PrivatePerm
	files := []statedir.File{
		{Name: statedir.MetadataFile, Data: append(metaJSON, '\n'), Perm: pub},
		{Name: statedir.ComposeFile, Data: composeYAML, Perm: pub},
		{Dir: "agent", Name: contract.CACert, Data: egressCA.CertPEM, Perm: pub},
		{Dir: contract.Egress, Name: contract.RoutesFile, Data: routesYAML, Perm: pub},
		{Dir: contract.Egress, Name: contract.CACert, Data: egressCA.CertPEM, Perm: pub},
		{Dir: contract.Egress, Name: contract.CAKey, Data: egressCA.KeyPEM, Perm: priv},
		{Dir: contract.Egress, Name: contract.UpstreamCA, Data: pipelockCA.CertPEM, Perm: pub},
		{Dir: contract.Egress, Name: contract.UpstreamAuth, Data: []byte(proxyAuth), Perm: priv},
		{Dir: contract.Pipelock, Name: contract.PipelockFile, Data: pipelockYAML, Perm: pub},
		{Dir: contract.Pipelock, Name: contract.CACert, Data: pipelockCA.CertPEM, Perm: pub},
		{Dir: contract.Pipelock, Name: contract.CAKey, Data: pipelockCA.KeyPEM, Perm: priv},
	}
	known := append([]secretfp.Fingerprint(nil), r.CanaryFingerprints()...)
	for _, tf := range tfs {
		known = append(known, tf.Fingerprint)
	}
	gitFiles, err := gitGateFiles(r.Manifest, known)
	if err != nil {
		return nil, err
	}
	files = append(files, gitFiles...)
	return &Plan{
		Slug: slug, Shape: opts.Shape, Bottle: r, Layout: opts.Layout, Project: project,
		Metadata: meta, EgressCA: egressCA, Files: files,
	}, nil
}

// gitGateFiles renders git-gate's directory: repos.yaml, known_hosts pinned to
// the manifest's host keys, and a copy of each identity (0600). The directory
// always exists (it is mounted) even without repos.
func gitGateFiles(m *manifest.Manifest, known []secretfp.Fingerprint) ([]statedir.File, error) {
	var repos []daemoncfg.Repo
	var knownHosts strings.Builder
	var files []statedir.File
	for _, r := range m.Git.Repos {
		if r.Workspace {
			repos = append(repos, daemoncfg.Repo{Name: r.Name, URL: r.URL})
			continue
		}
		idPath, err := manifest.ExpandHome(r.Identity)
		if err != nil {
			return nil, err
		}
		key, err := os.ReadFile(idPath)
		if err != nil {
			return nil, fmt.Errorf("git repo %s: identity: %w", r.Name, err)
		}
		idName := "id-" + r.Name
		files = append(files, statedir.File{Dir: contract.GitGate, Name: idName, Data: key, Perm: statedir.PrivatePerm})
		maxObject, maxPush := m.Git.Limits(r)
		repos = append(repos, daemoncfg.Repo{Name: r.Name, URL: r.URL, Identity: idName, AllowForcePush: r.AllowForcePush, AllowDelete: r.AllowDelete, MaxObjectMiB: maxObject, MaxPushMiB: maxPush})
		host, port := sshHost(r.URL)
		if port != "" && port != "22" {
			host = "[" + host + "]:" + port
		}
		fmt.Fprintf(&knownHosts, "%s %s\n", host, strings.TrimSpace(r.HostKey))
	}
	reposYAML, err := daemoncfg.GitGate{Repos: repos, KnownSecrets: known}.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode git-gate repos: %w", err)
	}
	files = append(files,
		statedir.File{Dir: contract.GitGate, Name: contract.ReposFile, Data: reposYAML, Perm: statedir.PublicPerm},
		statedir.File{Dir: contract.GitGate, Name: contract.KnownHosts, Data: []byte(knownHosts.String()), Perm: statedir.PublicPerm},
	)
	return files, nil
}

// sshHost extracts host and port from ssh://[user@]host[:port]/path or user@host:path.
func sshHost(u string) (host, port string) {
	if rest, ok := strings.CutPrefix(u, "ssh://"); ok {
		hp, _, _ := strings.Cut(rest, "/")
		if i := strings.LastIndexByte(hp, '@'); i >= 0 {
			hp = hp[i+1:]
		}
		if h, p, ok := strings.Cut(hp, ":"); ok {
			return h, p
		}
		return hp, ""
	}
	hp, _, _ := strings.Cut(u, ":")
	if i := strings.LastIndexByte(hp, '@'); i >= 0 {
		hp = hp[i+1:]
	}
	return hp, ""
}

// AgentCADirPerm is the mode of the agent's CA directory in the state dir.
const AgentCADirPerm os.FileMode = 0o755

// Stage writes the plan's state directory atomically and creates its queue
// directory. Nothing is written when any step fails.
func (p *Plan) Stage() error {
	if err := p.Layout.Stage(p.Slug, p.Files); err != nil {
		return err
	}
	// The agent's directory holds only the public CA certificate and is
	// bind-mounted into the agent, which runs as an unprivileged user (not
	// the operator's uid): it must be able to list and read it. Every other
	// directory stays 0700.
	if err := os.Chmod(p.Layout.AgentCADir(p.Slug), AgentCADirPerm); err != nil {
		_ = p.Layout.Remove(p.Slug)
		return fmt.Errorf("open the agent's CA directory: %w", err)
	}
	if err := os.MkdirAll(p.Layout.QueueDir(p.Slug), statedir.DirPerm); err != nil {
		_ = p.Layout.Remove(p.Slug)
		return fmt.Errorf("create queue dir: %w", err)
	}
	return nil
}
