// Package build compiles the project's programs into static linux binaries
// that the image Dockerfiles copy in. Go binaries are built on the host
// because HTTPS from inside build containers (to the module proxy) is not
// reliable on the machines this project targets.
package gobuild
