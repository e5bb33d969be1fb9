package contract

import "strconv"

// Environment the host (the renderer, or `up` for token values) gives the
// daemons, and the variables the host's own tools read.
const (
	// BundleEnv chooses the sidecars' shape (see ParseBundle).
	BundleEnv = "CLAUDE_BOTTLE_SIDECAR_BUNDLE"
	// ImageEnv overrides the sidecars image (see SidecarImage).
	ImageEnv = "CLAUDE_BOTTLE_SIDECAR_IMAGE"
	// DaemonsEnv selects the daemons initd runs (csv; unset means all
	// four, empty means none).
	DaemonsEnv = "CLAUDE_BOTTLE_SIDECAR_DAEMONS"

	// EgressUpstreamEnv is the proxy egress forwards to (pipelock).
	EgressUpstreamEnv = "EGRESS_UPSTREAM_PROXY"
	// TokenEnvPrefix starts the variables that carry credential values to
	// egress, and only to egress: EGRESS_TOKEN_1, EGRESS_TOKEN_2, …
	TokenEnvPrefix = "EGRESS_TOKEN_" //nolint:gosec // a variable-name prefix, not a credential

	// Supervise's environment.
	SuperviseSlugEnv      = "SUPERVISE_BOTTLE_SLUG"
	SuperviseQueueEnv     = "SUPERVISE_QUEUE_DIR"
	SupervisePortEnv      = "SUPERVISE_PORT"
	SuperviseEgressURLEnv = "SUPERVISE_EGRESS_URL"
	SuperviseWaitEnv      = "SUPERVISE_WAIT"
)

// TokenEnv returns the variable of credential slot n (1-based).
func TokenEnv(n int) string { return TokenEnvPrefix + strconv.Itoa(n) }
