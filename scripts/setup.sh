#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh machine:
# pnpm (the version pinned in package.json), the workspace's dependencies,
# the native addon built for the Node that runs it, and the programs tests run
# for themselves, from Debian's packages (command:package):
#   redis-server  the real Redis of the rendezvous and Redis Streams tests
#   redis-cli     creates the Redis Cluster of the rendezvous tests (redis-tools)
#   openssl       @bertha/chunnels-tls's test certificates
#   ip            network namespaces for the multi-host tests (iproute2)
#   kcat          an independent Kafka client for the Kafka test broker's fidelity tests
# and Google's Pub/Sub emulator where Google's apt repository is configured.
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  npm install --global --no-fund --no-audit "pnpm@$pnpm_version"
fi

missing=()
for need in redis-server:redis-server redis-cli:redis-tools openssl:openssl ip:iproute2 kcat:kcat; do
  command -v "${need%%:*}" >/dev/null 2>&1 || missing+=("${need##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing programs: run 'sudo apt-get install -y ${missing[*]}'" >&2
    exit 1
  fi
fi

if [ ! -x /usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq google-cloud-cli-pubsub-emulator >/dev/null ||
    echo "the Pub/Sub emulator is not installable here (add Google's Cloud SDK apt repository): its tests are skipped outside CI" >&2
fi

pnpm install --frozen-lockfile --reporter=append-only
bash scripts/native-addons.sh
