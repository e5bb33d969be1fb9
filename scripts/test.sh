#!/usr/bin/env bash
# Runs every test: unit tests, then the Docker-backed integration matrix with
# the sidecar bundle flag off and on. CI runs exactly this (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_go
ensure_engine
exec go tool mage test:all "$@"
