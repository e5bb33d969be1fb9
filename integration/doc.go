// Package integration holds the Docker-backed tests (build tag integration).
// They skip with a stated reason under Gitea act_runner or without an engine,
// and CLAUDE_BOTTLE_INTEGRATION=1 turns every skip into a failure.
package integration
