#!/usr/bin/env bash
# Install PostgreSQL (Debian's package) where it is missing: the integration tests
# run Label Studio on a throwaway cluster built from its initdb/pg_ctl
# (ml_backend/demo/postgres.py). Nothing here creates or starts a cluster of ours.
#
# Idempotent: exits at once when /usr/lib/postgresql/<major>/bin/initdb exists
# (or $ILLUME_PG_BIN/initdb). Needs root (or sudo) only when it installs.
set -euo pipefail

if [ -n "${ILLUME_PG_BIN:-}" ] && [ -x "$ILLUME_PG_BIN/initdb" ]; then
  echo "PostgreSQL found in $ILLUME_PG_BIN"
  exit 0
fi
for initdb in /usr/lib/postgresql/*/bin/initdb; do
  if [ -x "$initdb" ]; then
    echo "PostgreSQL found: $initdb"
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "PostgreSQL is missing; install it as root: apt-get install -y postgresql" >&2; exit 1; }
  SUDO="sudo"
fi
echo "installing PostgreSQL (Debian's postgresql package)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/initdb
