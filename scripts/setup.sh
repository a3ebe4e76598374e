#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh machine:
# pnpm (the version pinned in package.json), the workspace's dependencies,
# the servers tests start for themselves (redis-server), and kcat (an independent
# Kafka client the Kafka test broker's fidelity tests run).
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  npm install --global --no-fund --no-audit "pnpm@$pnpm_version"
fi

# apt_need COMMAND PACKAGE: installs the Debian package unless the command is there.
apt_need() {
  command -v "$1" >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "$1 is missing: run 'sudo apt-get install -y $2'" >&2
    exit 1
  fi
}
apt_need redis-server redis-server
apt_need kcat kcat

pnpm install --frozen-lockfile --reporter=append-only
