//go:build integration

package integration

import (
	"io"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/claude-bottle/claude-bottle/internal/itest"
	"github.com/claude-bottle/claude-bottle/pkg/engine"
	"github.com/claude-bottle/claude-bottle/pkg/images"
)

// TestImageBuildCacheHit: building an image whose inputs did not change is a
// no-op, and the base image is found rather than rebuilt.
func TestImageBuildCacheHit(t *testing.T) {
	env := itest.Require(t)
	env.RequireImage(t, images.AgentTestImage, "build:agentTest")
	eng, err := engine.Connect(t.Context())
	assert.NilError(t, err)
	defer eng.Close()
	base, err := images.EnsureBase(t.Context(), eng, images.BaseOptions{SkipPull: true})
	assert.NilError(t, err)
	assert.Assert(t, base.Source == "present" || base.Source == "cached", "second base build must be a cache hit, got %s", base.Source)
	opts := images.BuildOptions{Root: "..", Base: base.Ref, Out: io.Discard}
	// The first build brings the image up to date (a no-op when the harness
	// just built it); the second must find nothing to do.
	_, err = images.Build(t.Context(), eng, images.AgentTest(), opts)
	assert.NilError(t, err)
	before, err := eng.ImageID(t.Context(), images.AgentTestImage)
	assert.NilError(t, err)
	res, err := images.Build(t.Context(), eng, images.AgentTest(), opts)
	assert.NilError(t, err)
	assert.Assert(t, res.Skipped, "unchanged inputs must skip the build")
	after, err := eng.ImageID(t.Context(), images.AgentTestImage)
	assert.NilError(t, err)
	assert.Equal(t, after, before)
}
