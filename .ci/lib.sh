# Shared helpers for .ci scripts (sourced, not executed).
# shellcheck shell=bash

PETLAB_CACHE="${PETLAB_CACHE:-/var/cache/petlab}"
export PETLAB_CACHE

_petlab_t0=$(date +%s)

log() { printf '[%s +%4ss] %s\n' "$(date +%H:%M:%S)" "$(( $(date +%s) - _petlab_t0 ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Point the docker client at the engine started by .ci/docker-engine, if it is not on the
# default socket.
petlab_docker_env() {
  if [ -z "${DOCKER_HOST:-}" ] && [ -f "$PETLAB_CACHE/docker.host" ]; then
    DOCKER_HOST="$(cat "$PETLAB_CACHE/docker.host")"
    [ "$DOCKER_HOST" = "unix:///var/run/docker.sock" ] && unset DOCKER_HOST || export DOCKER_HOST
  fi
}
