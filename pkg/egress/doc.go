// Package egress is the agent's only HTTP(S) door: a TLS-intercepting
// forward proxy that admits requests by route (host, optional path prefixes),
// replaces the agent's credentials with the route's real token, refuses IP
// literals and any disagreement between CONNECT target, SNI and Host, and
// sends everything upstream through the pipelock slot.
package egress
