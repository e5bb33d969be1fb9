#!/usr/bin/env bash
# Makes Debian's mitmproxy (mitmdump: the seed system's egress proxy) available
# for `go tool mage bench`, which measures our egress -> pipelock chain beside
# it in the same run. Prints the path of mitmdump on stdout and exits 0, or
# says on stderr why it could not be installed and exits 1 (the bench then
# reports the comparison as not measured instead of failing).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if command -v mitmdump >/dev/null 2>&1; then
  command -v mitmdump
  exit 0
fi
if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
  log "mitmdump is not installed and this is not a Debian-like system: install mitmproxy (e.g. 'apt-get install mitmproxy' or 'pipx install mitmproxy') to get the bench's mitmproxy comparison"
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    log "mitmdump is not installed and installing it needs root: run 'sudo apt-get install -y mitmproxy', then the bench again"
    exit 1
  fi
fi
log "bench: installing Debian's mitmproxy (apt-get install -y mitmproxy) for the bench's comparison with the seed system's egress proxy"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends mitmproxy >/dev/null 2>&1; then
  # The package lists may be stale or missing (fresh containers): refresh once.
  "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 || true
  if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends mitmproxy >&2; then
    log "apt-get install mitmproxy failed (see above): the bench reports the mitmproxy comparison as not measured"
    exit 1
  fi
fi
if ! command -v mitmdump >/dev/null 2>&1; then
  log "mitmproxy was installed but mitmdump is not on PATH"
  exit 1
fi
command -v mitmdump
