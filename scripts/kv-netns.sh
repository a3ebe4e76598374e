#!/usr/bin/env bash
# The sharded key-value store (examples/kv) with its 6 shards as separate
# processes in another network namespace, so that "remote shard" is real
# forwarding over a link: client-side sharding crosses it from the clients,
# server-side sharding from the canonical server.
#
#   sudo scripts/kv-netns.sh [demo | bench [rates] [seconds] [reps]]
#
# Topology, in two throw-away namespaces (nothing is configured in the
# host's namespace, so no traffic can leave them):
#
#   clients + canonical server 10.214.0.1/30 ── veth ── 10.214.0.2/30 shards (6 processes)
#
# `demo` (default) runs examples/kv/main.ts there; `bench` runs
# `pnpm bench kv` with every server-side sharder forwarding across the link
# (KV_SHARDS, KV_HOST). Needs root, iproute2 and the workspace's
# dependencies. Not part of the test suite.
set -euo pipefail

die() { echo "kv-netns: $*" >&2; exit 1; }
mode=${1:-demo}
[ $# -gt 0 ] && shift
[[ $mode =~ ^(demo|bench)$ ]] || die "usage: $0 [demo | bench [rates] [seconds] [reps]]"
[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces): sudo $0 $mode"
command -v ip >/dev/null || die "'ip' is missing: install iproute2"
cd "$(dirname "$0")/.."
tsx=$PWD/node_modules/.bin/tsx
[ -x "$tsx" ] || die "$tsx is missing: run scripts/setup.sh (or pnpm install) first"

ns_s=bertha-kvs-$$
ns_h=bertha-kvh-$$
addr_s=10.214.0.1
addr_h=10.214.0.2
shards=6
work=$(mktemp -d)

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local ns pid
  # Only processes inside our own namespaces.
  for ns in "$ns_s" "$ns_h"; do
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    fi
  done
  sleep 0.3
  for ns in "$ns_s" "$ns_h"; do
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      # Deleting a namespace deletes its veth end.
      ip netns del "$ns" || echo "kv-netns: could not delete namespace $ns; remove it with: ip netns del $ns" >&2
    fi
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "kv-netns: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ip netns add "$ns_s" 2>"$work/err" \
  || die "cannot create network namespaces ($(cat "$work/err")): this needs CAP_SYS_ADMIN and a kernel with CONFIG_NET_NS"
ip netns add "$ns_h"
ip link add name s0 netns "$ns_s" type veth peer name h0 netns "$ns_h"
ip -n "$ns_s" addr add "$addr_s/30" dev s0
ip -n "$ns_h" addr add "$addr_h/30" dev h0
for dev in lo s0; do ip -n "$ns_s" link set "$dev" up; done
for dev in lo h0; do ip -n "$ns_h" link set "$dev" up; done

# --- the shards, each a process printing its address --------------------
for i in $(seq 1 "$shards"); do
  in_ns "$ns_h" "$tsx" examples/kv/shard.ts "$addr_h" 0 >"$work/shard$i.out" 2>"$work/shard$i.err" &
done
list=
for i in $(seq 1 "$shards"); do
  for _ in $(seq 1 300); do [ -s "$work/shard$i.out" ] && break; sleep 0.1; done
  port=$(sed -nE 's/.*"port":([0-9]+).*/\1/p' "$work/shard$i.out")
  [ -n "$port" ] || die "shard $i did not start: $(cat "$work/shard$i.err")"
  list="${list:+$list,}$addr_h:$port"
done
echo "kv-netns: shards in $ns_h at $list; clients and the canonical server in $ns_s at $addr_s"

# --- the store and its clients, across the link ---------------------------
if [ "$mode" = demo ]; then
  in_ns "$ns_s" "$tsx" examples/kv/main.ts --shards "$list" --host "$addr_s"
else
  in_ns "$ns_s" env KV_SHARDS="$list" KV_HOST="$addr_s" "$tsx" bench/run.ts kv "$@"
fi
