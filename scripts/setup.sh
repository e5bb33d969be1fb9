#!/usr/bin/env bash
# One command from a fresh clone to a working claude-bottle: makes sure a
# Docker engine answers (installing docker.io as root on Debian), builds the
# base image, binaries and images offline, then runs the harness smoke.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
require_go
ensure_engine
# The default bottle's agent image installs a pinned Claude Code from npm.
# Where the npm registry does not answer (offline machines, CI), set-up
# builds it without Claude Code instead of failing; `claude-bottle run`
# then names the fix. An explicit CLAUDE_BOTTLE_CLAUDE_CODE_VERSION wins.
if [ -z "${CLAUDE_BOTTLE_CLAUDE_CODE_VERSION+x}" ]; then
  if ! command -v curl >/dev/null 2>&1 || ! curl -fsS --max-time 10 -o /dev/null https://registry.npmjs.org/ 2>/dev/null; then
    echo "setup: the npm registry is unreachable from here: the default agent image is built without Claude Code (CLAUDE_BOTTLE_CLAUDE_CODE_VERSION=none)" >&2
    export CLAUDE_BOTTLE_CLAUDE_CODE_VERSION=none
  fi
fi
exec go tool mage setup "$@"
