// Package bench holds the Docker-backed measurements of `go tool mage
// bench` (bench_test.go, build tag integration) and the report the mage
// target writes from them: bench/results/<date>.json, .md and .png.
package bench
