// Package targets holds the Mage targets of the claude-bottle harness, one file
// per namespace. Each target parses its inputs, declares its dependencies and
// calls into pkg/; nothing here prompts, so every target runs unattended.
package targets
