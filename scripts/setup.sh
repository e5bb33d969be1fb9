#!/usr/bin/env bash
# One command from a fresh clone to a working claude-bottle: makes sure a
# Docker engine answers (installing docker.io as root on Debian), builds the
# base image, binaries and images offline, then runs the harness smoke.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_go
ensure_engine
exec go tool mage setup "$@"
