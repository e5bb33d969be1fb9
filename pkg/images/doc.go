// Package images builds the project's container images without a registry:
// the Debian base (pulled when possible, otherwise debootstrapped and
// imported), then each Dockerfile under dockerfiles/ with the classic builder,
// skipping builds whose inputs did not change.
package images
