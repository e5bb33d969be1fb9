package targets

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/claude-bottle/claude-bottle/internal/gobuild"
	"github.com/claude-bottle/claude-bottle/pkg/contract"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// Build builds binaries and images.
type Build mg.Namespace

// Base makes the Debian base image: debian:bookworm-slim if present or pullable, else a local debootstrap import (cached).
func (Build) Base(ctx context.Context) error {
	eng, err := connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	res, err := images.EnsureBase(ctx, eng, images.BaseOptions{Out: progress})
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "base: %s (%s)\n", res.Ref, res.Source)
	return nil
}

// Binaries builds static linux binaries of the project into build/bin/linux-<arch>.
func (Build) Binaries(ctx context.Context) error {
	dir, err := gobuild.Go(ctx, gobuild.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "binaries: %s\n", dir)
	return nil
}

// Agent builds claude-bottle-agent:latest, the default bottle's agent with the pinned Claude Code from npm (CLAUDE_BOTTLE_CLAUDE_CODE_VERSION=none: without it).
func (Build) Agent(ctx context.Context) error {
	mg.CtxDeps(ctx, Build.Base)
	v, _ := os.LookupEnv(images.ClaudeCodeVersionEnv)
	return buildImage(ctx, images.Agent(v))
}

// AgentTest builds claude-bottle-agent-test:latest, the agent image of the integration tests.
func (Build) AgentTest(ctx context.Context) error {
	mg.CtxDeps(ctx, Build.Base, Build.Binaries)
	return buildImage(ctx, images.AgentTest())
}

// GitUpstreamTest builds claude-bottle-git-upstream-test:latest, the SSH git server of the integration tests.
func (Build) GitUpstreamTest(ctx context.Context) error {
	mg.CtxDeps(ctx, Build.Base)
	return buildImage(ctx, images.GitUpstreamTest())
}

// SnifferTest builds claude-bottle-sniffer-test:latest, the ARP-spoofing attacker of the isolation tests.
func (Build) SnifferTest(ctx context.Context) error {
	mg.CtxDeps(ctx, Build.Base)
	return buildImage(ctx, images.SnifferTest())
}

// Sidecars builds the sidecars image (initd + daemons), tagged claude-bottle-sidecars:latest or $CLAUDE_BOTTLE_SIDECAR_IMAGE.
func (Build) Sidecars(ctx context.Context) error {
	mg.CtxDeps(ctx, Build.Base, Build.Binaries)
	return buildImage(ctx, images.Sidecars(contract.SidecarImage(os.LookupEnv), gobuild.Options{}.RelOutDir()))
}

func buildImage(ctx context.Context, spec images.Spec) error {
	eng, err := connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	fmt.Fprintf(progress, "image %s: checking inputs\n", spec.Tag)
	res, err := images.Build(ctx, eng, spec, images.BuildOptions{Out: detail()})
	if err != nil {
		return err
	}
	if res.Skipped {
		fmt.Fprintf(progress, "image %s: up to date (inputs %.12s)\n", spec.Tag, res.Digest)
	} else {
		fmt.Fprintf(progress, "image %s: built (inputs %.12s)\n", spec.Tag, res.Digest)
	}
	return nil
}
