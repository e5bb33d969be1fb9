package images

import (
	"context"
	"io"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/internal/gobuild"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// AgentImage is the agent image of the embedded default bottle.
const AgentImage = "claude-bottle-agent:latest"

// ClaudeCodeVersionEnv overrides the Claude Code version AgentImage installs
// from npm (unset: the version Dockerfile.agent pins; "none": without
// Claude Code, where the npm registry is unreachable).
const ClaudeCodeVersionEnv = "CLAUDE_BOTTLE_CLAUDE_CODE_VERSION"

// Agent is the spec of AgentImage with Claude Code claudeCode ("" = the
// Dockerfile's pinned version, "none" = without it).
func Agent(claudeCode string) Spec {
	s := Spec{Tag: AgentImage, Dockerfile: "dockerfiles/Dockerfile.agent"}
	if claudeCode != "" {
		s.Args = map[string]string{"CLAUDE_CODE_VERSION": claudeCode}
	}
	return s
}

// AgentTestImage is the agent image integration tests run: the base plus
// curl, git, dig, ssh and netcat, and a stand-in `claude`
// (internal/standin/cmd/claude) instead of Claude Code.
const AgentTestImage = "claude-bottle-agent-test:latest"

// GitUpstreamTestImage is the SSH git server integration tests push to.
const GitUpstreamTestImage = "claude-bottle-git-upstream-test:latest"

// GitUpstreamTest is the spec of GitUpstreamTestImage.
func GitUpstreamTest() Spec {
	return Spec{Tag: GitUpstreamTestImage, Dockerfile: "dockerfiles/Dockerfile.git-upstream-test"}
}

// Sidecars is the spec of the sidecars image tagged tag (see
// contract.SidecarImage); binDir holds the host-built binaries, relative to the
// module root.
func Sidecars(tag, binDir string) Spec {
	return Spec{
		Tag:        tag,
		Dockerfile: "dockerfiles/Dockerfile.sidecars",
		Files: map[string]string{
			"initd":                 binDir + "/initd",
			"claude-bottle-sidecar": binDir + "/claude-bottle-sidecar",
		},
	}
}

// Spec is one image of the project: its Dockerfile and context files.
type Spec struct {
	Tag        string
	Dockerfile string            // relative to the module root
	Files      map[string]string // context path -> path relative to the module root
	Args       map[string]string // build arguments besides BASE_IMAGE
}

// SnifferTestImage is the attacker image of the isolation tests: arpspoof
// and tcpdump, run with raw sockets beside a bottle's agent.
const SnifferTestImage = "claude-bottle-sniffer-test:latest"

// SnifferTest is the spec of SnifferTestImage.
func SnifferTest() Spec {
	return Spec{Tag: SnifferTestImage, Dockerfile: "dockerfiles/Dockerfile.sniffer-test"}
}

// AgentTest is the spec of AgentTestImage.
func AgentTest() Spec {
	return Spec{Tag: AgentTestImage, Dockerfile: "dockerfiles/Dockerfile.agent-test",
		Files: map[string]string{"claude": gobuild.Options{}.RelOutDir() + "/claude-standin"}}
}

// BuildOptions tunes Build. The zero value is the default.
type BuildOptions struct {
	// Root is the module root; empty means the current directory.
	Root string
	// Base is the BASE_IMAGE build argument; empty means resolve (and if
	// needed build) it with EnsureBase.
	Base string
	// Force rebuilds even when the inputs did not change.
	Force bool
	// Out receives progress and build output; nil discards it.
	Out io.Writer
	// Version labels the image (LabelVersion) with the claude-bottle that
	// built it; empty leaves the label out.
	Version string
}

// Build builds spec on top of the base image, skipping the build when the
// image already carries the digest of the same inputs (Dockerfile, context
// files, build arguments and the base image's ID).
func Build(ctx context.Context, eng *engine.Engine, spec Spec, opts BuildOptions) (engine.BuildResult, error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	base := opts.Base
	if base == "" {
		res, err := EnsureBase(ctx, eng, BaseOptions{Out: out})
		if err != nil {
			return engine.BuildResult{}, err
		}
		base = res.Ref
	}
	baseID, err := eng.ImageID(ctx, base)
	if err != nil {
		return engine.BuildResult{}, err
	}
	root := opts.Root
	if root == "" {
		root = "."
	}
	files := make(map[string]string, len(spec.Files))
	for k, v := range spec.Files {
		files[k] = filepath.Join(root, v)
	}
	labels := map[string]string{"dev.claude-bottle.image": spec.Tag}
	if opts.Version != "" {
		labels[LabelVersion] = opts.Version
	}
	args := map[string]string{"BASE_IMAGE": base}
	for k, v := range spec.Args {
		args[k] = v
	}
	res, err := eng.Build(ctx, engine.BuildSpec{
		Tag:        spec.Tag,
		Dockerfile: filepath.Join(root, spec.Dockerfile),
		Files:      files,
		Args:       args,
		Labels:     labels,
		Salt:       []string{"base " + baseID},
		Force:      opts.Force,
	}, out)
	return res, err
}
