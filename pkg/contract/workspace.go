package contract

// WorkspaceMount is where git-gate finds the workspace mirror of a bottle
// started by `claude-bottle run` (the state dir's workspace/ directory,
// mounted read-write: git-gate pushes the agent's scanned work into it).
const WorkspaceMount = "/var/lib/claude-bottle/workspace"
