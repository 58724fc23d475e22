#!/usr/bin/env bash
# Install what the browser test needs: Debian's Chromium (apt) and playwright-core (npm,
# under tests/browser/, git-ignored). playwright-core drives the system Chromium, so no
# browser download from a CDN is needed. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (apt, about 1 min)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
chromium --version

if ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs + npm (apt)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

cd "$ROOT/tests/browser"
if [ ! -d node_modules/playwright-core ]; then
  npm install --no-audit --no-fund --silent
fi
node -e "console.log('playwright-core', require('playwright-core/package.json').version)"
