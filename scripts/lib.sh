# Shared shell helpers of scripts/setup.sh and scripts/test.sh. Sourced, not run.

log() { printf 'claude-bottle: %s\n' "$*" >&2; }

# require_go checks for the Go toolchain the module needs.
require_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "Go is not installed: install Go 1.26 (https://go.dev/dl/) and put it on PATH"
    exit 1
  fi
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
}

# engine_answers is true when a Docker engine answers within 10 s.
engine_answers() {
  if command -v docker >/dev/null 2>&1; then
    timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
  else
    local sock=${DOCKER_HOST#unix://}
    [ -n "$sock" ] && [ "$sock" != "${DOCKER_HOST:-}" ] || sock=/var/run/docker.sock
    timeout 10 curl -fsS --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
  fi
}

# ensure_engine makes sure a Docker engine answers. As root on Debian it
# installs docker.io and starts dockerd when needed; elsewhere it says what to do.
ensure_engine() {
  if engine_answers; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    log "no Docker engine answers. Install and start one, e.g. on Debian/Ubuntu:"
    log "  sudo apt-get install -y docker.io && sudo systemctl start docker"
    log "or point DOCKER_HOST at a running engine, then run this again."
    exit 1
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io (no Docker engine found)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null
  fi
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    log "starting docker with systemctl"
    systemctl start docker || true
  fi
  if ! engine_answers; then
    log "starting dockerd (log: /var/log/claude-bottle-dockerd.log)"
    nohup dockerd >/var/log/claude-bottle-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    if engine_answers; then
      log "Docker engine is up"
      return 0
    fi
    sleep 1
  done
  log "dockerd did not answer within 60 s; see /var/log/claude-bottle-dockerd.log"
  exit 1
}
