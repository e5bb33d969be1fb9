// Package benchreport holds the Docker-backed measurements of `go tool mage
// bench` (bench_test.go, build tag integration) and the report the mage
// target writes from them into bench/results/<date>.json, .md and .png
// (the bench/ folder holds only those results).
package benchreport
