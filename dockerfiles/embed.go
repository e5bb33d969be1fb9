// Package dockerfiles holds the Dockerfiles of claude-bottle's images and
// embeds them, so an installed CLI (go install, no checkout) can build
// every image it needs.
package dockerfiles

import "embed"

// FS holds every Dockerfile.* of this directory, by file name.
//
//go:embed Dockerfile.*
var FS embed.FS
