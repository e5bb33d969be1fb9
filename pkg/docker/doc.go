// Package docker is claude-bottle's door to the Docker engine: the engine check
// with an actionable error, image builds with input-digest caching, pulls and
// rootfs imports. It wraps github.com/docker/docker/client, which negotiates
// the API version down to what the engine speaks (1.41 on these machines).
package docker
