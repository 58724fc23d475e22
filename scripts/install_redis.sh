#!/usr/bin/env bash
# Install Redis (Debian's redis-server package) where it is missing: the RQ worker
# tests start a throwaway redis-server on a free loopback port (tests/ml_backend/
# redis_fixture.py). Nothing here starts or enables a Redis of ours; the package's
# own system service is not started by the install.
#
# Idempotent: exits at once when redis-server is on PATH (or $ILLUME_REDIS_SERVER
# names an executable). Needs root (or sudo) only when it installs.
set -euo pipefail

if [ -n "${ILLUME_REDIS_SERVER:-}" ] && [ -x "$ILLUME_REDIS_SERVER" ]; then
  echo "redis-server found: $ILLUME_REDIS_SERVER"
  exit 0
fi
if command -v redis-server >/dev/null; then
  echo "redis-server found: $(command -v redis-server)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Redis is missing; install it as root: apt-get install -y redis-server" >&2; exit 1; }
  SUDO="sudo"
fi
echo "installing Redis (Debian's redis-server package)"
$SUDO apt-get update -qq
# RUNLEVEL=1: invoke-rc.d starts no system service during the install (the tests start their own)
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
command -v redis-server
