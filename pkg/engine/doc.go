// Package engine is claude-bottle's adapter to the Docker engine, and the
// only package of the module (outside tests) that imports the Docker SDK.
// It offers the engine's primitives — images, containers, networks, exec,
// logs, commit, version — in claude-bottle's own types; no SDK type appears
// in its API. What to create, in which order, how to harden and provision
// it and when it is ready is decided by pkg/lifecycle.
//
// It wraps github.com/docker/docker/client, which negotiates the API version
// down to what the engine speaks (1.41 on these machines).
package engine
