//go:build integration

package integration

import (
	"testing"

	"github.com/docker/docker/client"
	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// sdk is a raw Docker client for what the tests inspect beyond pkg/engine's
// API (host configuration, OOM kills, exports, forced disconnects); the
// code under test talks to the engine only through pkg/engine.
func sdk(t *testing.T) *client.Client {
	t.Helper()
	api, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return api
}

// dockerClient is dockertest's Docker client, for the tests' own
// inspections and listings.
func dockerClient(t testing.TB) *dc.Client {
	t.Helper()
	pool, err := dockertest.NewPool("")
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	return pool.Client
}
