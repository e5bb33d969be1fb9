package compose

import (
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/pkg/contract"
)

// WorkspaceDir is the state dir's directory holding the workspace mirror.
const WorkspaceDir = "workspace"

func hasWorkspace(opts Options) bool {
	if opts.Bottle == nil {
		return false
	}
	for _, r := range opts.Bottle.Git.Repos {
		if r.Workspace {
			return true
		}
	}
	return false
}

// workspaceVolume mounts the state dir's workspace/ (the bare mirror the
// host CLI made of the user's repository) read-write into git-gate: the
// gate pushes the agent's scanned work there. Nothing else of the state dir
// is writable by a sidecar.
func workspaceVolume(opts Options) Volume {
	return Volume{Type: "bind", Source: filepath.Join(opts.Layout.StateDir(opts.Slug), WorkspaceDir), Target: contract.WorkspaceMount}
}
