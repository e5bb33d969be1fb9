package contract

// Supervise's MCP tools. The three *-block tools make proposals, whose
// kind in the queue is the tool's name.
const (
	ToolPipelockBlock   = "pipelock-block"
	ToolEgressBlock     = "egress-block"
	ToolCapabilityBlock = "capability-block"
	ToolListRoutes      = "list-egress-routes"
)

// Role values of LabelRole.
const (
	RoleAgent    = "agent"
	RoleSidecars = "sidecars" // the bundle; a legacy sidecar's role is its daemon name
)
