//go:build mage

// The claude-bottle harness: builds the images offline, runs the unit tests
// and the Docker-backed integration matrix. The targets live in the ordinary
// package magefiles/targets so that go vet, gopls and tests see them; run
// `go tool mage -l` for the list.
package main

import (
	//mage:import
	"github.com/claude-bottle/claude-bottle/magefiles/targets"
)

// Default is what `go tool mage` with no target runs: the whole set-up.
var Default = targets.Setup
