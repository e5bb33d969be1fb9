package contract

// Files in a daemon's state directory (mounted read-only at ConfigDir): the
// host writes them, the daemon reads them.
const (
	CACert       = "ca.pem"          // the daemon's interception CA (egress, pipelock); the agent's copy too
	CAKey        = "ca-key.pem"      // its key (0600)
	RoutesFile   = "routes.yaml"     // egress' routes
	UpstreamCA   = "upstream-ca.pem" // egress: pipelock's CA, to verify the re-signed upstream
	UpstreamAuth = "upstream-auth"   // egress: user:password for pipelock's Proxy-Authorization (0600)
	PipelockFile = "pipelock.yaml"   // pipelock's configuration
	ReposFile    = "repos.yaml"      // git-gate's repos
	KnownHosts   = "known_hosts"     // git-gate: upstream host keys, pinned
)
