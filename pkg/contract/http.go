package contract

// What the agent sees of a refusal, and the daemons' own endpoints.
const (
	// BlockHeader is set on every answer egress or pipelock refuses:
	// "<daemon>; reason=<reason>; tool=<MCP tool to ask through>".
	BlockHeader = "X-Claude-Bottle-Blocked"
	// InjectionHeader reports prompt-injection findings pipelock let
	// through (action warn, or medium confidence).
	InjectionHeader = "X-Claude-Bottle-Injection"
	// EgressControlHost is the pseudo host egress answers itself, through
	// the proxy: GET http://_egress.local/allowlist lists its routes.
	EgressControlHost = "_egress.local"
	// EgressAllowlistPath is the path of that listing.
	EgressAllowlistPath = "/allowlist"
)

// EgressAllowlistURL is what supervise's list-egress-routes fetches through
// egress.
const EgressAllowlistURL = "http://" + EgressControlHost + EgressAllowlistPath
