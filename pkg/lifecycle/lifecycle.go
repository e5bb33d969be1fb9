// Package lifecycle is the host side of a bottle's life on the engine:
// bring-up in compose's order and the wait for the daemons' own health
// commands, the agent's provisioning and hardening, the isolation probe
// and its judge, the engine-bug policy, reloads of pipelock and egress
// confirmed by their status commands, capability rebuilds, `ls` and its
// health assessment, doctor's checks, cleanup planning and removal, and
// the interrupt checkpoints of up. It talks to Docker only through
// pkg/engine.
package lifecycle

import (
	"context"

	"github.com/claude-bottle/claude-bottle/pkg/engine"
)

// Backend is the engine with claude-bottle's policy on top: the engine's
// primitives (exec, logs, images, …) are its own methods too.
type Backend struct {
	*engine.Engine
	// Checkpoint, when set, is called at each step of Up (see FailAt).
	Checkpoint Checkpoint
	// AllowEngineBug is the operator's AllowEngineBugEnv: the IDs of known
	// engine bugs (or "all") that Up tolerates on an unmitigated bottle.
	AllowEngineBug string
}

// Connect connects to the engine (see engine.Connect).
func Connect(ctx context.Context) (*Backend, error) {
	eng, err := engine.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &Backend{Engine: eng}, nil
}
