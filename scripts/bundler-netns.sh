#!/usr/bin/env bash
# Bundler over real sockets (GitHub issue 18), a smaller run of `ccp-sim
# bundler`: heavy-tailed requests from a sending site to a receiving site,
# each one CCP transport flow over UDP (native Cubic), under the status quo,
# Bundler + SFQ and Bundler + FIFO; prints median and p99 slowdown per setup.
#
#   sudo scripts/bundler-netns.sh [--rate 12mbit] [--delay 25ms] [--buffer-packets 50]
#                                 [--load-mbit 10.5] [--seconds 10] [--drain 10] [--max-bytes 3000000]
#                                 [--seed 1] [--setups status-quo,bundler-sfq,bundler-fifo]
#                                 [--delay-with auto|netem|tun] [--nice N] [--trace DIR] [--ns-prefix bundler]
#
# Topology (scripts/netns/link.sh): the sending site is namespace A, the
# receiving site B, joined through a router whose egress towards B is the
# bottleneck (tbf at --rate, --buffer-packets of queue, --delay each way by
# netem or the TUN delay line). Requests come from one client process in A
# (scripts/netns/bundler-client.ts) to a sink in B (scripts/netns/sink.ts).
# In the Bundler setups the client sends to a sendbox relay in A, which
# queues the bundle in its scheduler (SFQ or FIFO, a buffer of 2 × the
# bottleneck's), paces it with Copa over congestion ACKs and forwards it to
# a receivebox relay in B, which hands each flow's datagrams to the sink and
# sends the congestion ACKs back (scripts/netns/bundler-box.ts over
# @bertha/ccp-lab's SendboxRelay and ReceiveboxRelay: the simulator's
# Sendbox, Receivebox, schedulers and epoch measurement on the wall clock).
#
# Slowdown: a request's completion time (until its last byte is
# acknowledged) over the same size alone on the status-quo path, measured
# first, once per alone key (as `ccp-sim bundler` does in simulation).
# --nice N runs the client and the sink at that niceness (e.g. -10): on a
# loaded machine their event loops otherwise stall for tens of
# milliseconds. The boxes run at a real-time priority (chrt -f 5) when chrt
# is there: a stall in a box is RTT the sendbox's delay-based control
# reads as queueing.
# --trace DIR writes the sendbox's epoch estimates of each Bundler setup to
# DIR/<setup>.tsv (see scripts/netns/bundler-box.ts).
# Real time: a run takes about (--seconds + --drain) per setup plus the
# alone pass; on a shared machine the numbers move between runs. Needs
# root, iproute2 and the workspace's dependencies. Not part of the test suite.
set -euo pipefail

rate=12mbit
delay=25ms
buffer_packets=50
load_mbit=10.5
seconds=10
drain=10
max_bytes=3000000
seed=1
setups=status-quo,bundler-sfq,bundler-fifo
delay_with=auto
niceness=0
trace_dir=
ns_prefix=bundler

prog=bundler-netns
usage() { sed -n '7,10p' "$0" | sed 's/^# *//' >&2; exit 2; }
# shellcheck source=netns/link.sh
. "$(dirname "$0")/netns/link.sh"

while [ $# -gt 0 ]; do
  if netns_link_option "$@"; then shift 2; continue; fi
  case "$1" in
    --load-mbit) load_mbit=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --drain) drain=${2:?}; shift 2 ;;
    --max-bytes) max_bytes=${2:?}; shift 2 ;;
    --seed) seed=${2:?}; shift 2 ;;
    --setups) setups=${2:?}; shift 2 ;;
    --ns-prefix) ns_prefix=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "$prog: unknown option $1" >&2; usage ;;
  esac
done

netns_check_options
[[ $load_mbit =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--load-mbit must be a number, got '$load_mbit'"
for v in seconds drain max_bytes seed; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v//_/-} must be a positive integer, got '${!v}'"
done
[[ $setups =~ ^(status-quo|bundler-sfq|bundler-fifo)(,(status-quo|bundler-sfq|bundler-fifo))*$ ]] \
  || die "--setups must be a comma-separated subset of status-quo,bundler-sfq,bundler-fifo, got '$setups'"
[[ $ns_prefix =~ ^[a-z][a-z0-9-]{0,15}$ ]] || die "--ns-prefix must be a short lower-case name, got '$ns_prefix'"

[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces): sudo $0 $*"
for tool in ip tc timeout; do
  command -v "$tool" >/dev/null || die "'$tool' is missing: install iproute2 and coreutils"
done
cd "$(dirname "$0")/.."
tsx=$PWD/node_modules/.bin/tsx
[ -x "$tsx" ] || die "$tsx is missing: run scripts/setup.sh (or pnpm install) first"

ns_a=$ns_prefix-a-$$
ns_r=$ns_prefix-r-$$
ns_b=$ns_prefix-b-$$
sink_tcp_port=5401
sink_port=5402
receivebox_port=5403
sendbox_port=5404
work=$(mktemp -d)
delayline_pid=

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  netns_delete_all
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "$prog: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

netns_link_up

client_flags=(--load-mbit "$load_mbit" --rate-mbit "$(awk -v b="$rate_bps" 'BEGIN { print b / 1e6 }')" --seconds "$seconds"
  --drain "$drain" --max-bytes "$max_bytes" --seed "$seed" --mss 1400)
run_timeout=$((seconds + drain + 60))

in_ns "$ns_b" nice -n "$niceness" "$tsx" scripts/netns/sink.ts --host "$addr_b" --tcp-port "$sink_tcp_port" --udp-port "$sink_port" >"$work/sink.log" 2>&1 &
await_ready "$work/sink.log" $! sink 300

echo "$prog: requests alone, one per size key ..." >&2
timeout 900 ip netns exec "$ns_a" nice -n "$niceness" "$tsx" scripts/netns/bundler-client.ts alone --host "$addr_b" --port "$sink_port" "${client_flags[@]}" \
  >"$work/alone.json" 2>"$work/alone.err" || die "the alone pass failed: $(tail -5 "$work/alone.err")"

# A box in its namespace until it prints ready; its pid in box_pid.
start_box() {
  local ns=$1 name=$2; shift 2
  # Not through in_ns: $! must be the box itself (ip netns exec and chrt exec tsx), which prints its
  # counters on TERM. The boxes stand for machines of their own at each site: a real-time priority
  # (below the delay line's) keeps the client and the sink, which share this machine's cores, from
  # stalling their event loops, which the sendbox would read as queueing. They mostly sleep in epoll.
  local rt=(); ! command -v chrt >/dev/null || rt=(chrt -f 5)
  ip netns exec "$ns" "${rt[@]}" "$tsx" scripts/netns/bundler-box.ts "$@" >"$work/$name.out" 2>"$work/$name.log" &
  box_pid=$!
  await_ready "$work/$name.out" "$box_pid" "$name" 300
}
stop_box() {
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

rows=()
for setup in ${setups//,/ }; do
  echo "$prog: $setup for ${seconds} s of arrivals + ${drain} s ..." >&2
  before=$(qdisc_drops)
  port=$sink_port host=$addr_b boxes=
  if [ "$setup" != status-quo ]; then
    start_box "$ns_b" receivebox receivebox --listen "$addr_b:$receivebox_port" --target "$addr_b:$sink_port"
    rx_pid=$box_pid
    start_box "$ns_a" sendbox sendbox --listen "$addr_a:$sendbox_port" --receivebox "$addr_b:$receivebox_port" \
      --scheduler "${setup#bundler-}" --buffer-bytes $((2 * limit_bytes)) ${trace_dir:+--trace "$trace_dir/$setup.tsv"}
    tx_pid=$box_pid
    host=$addr_a port=$sendbox_port
  fi
  if line=$(timeout "$run_timeout" ip netns exec "$ns_a" nice -n "$niceness" "$tsx" scripts/netns/bundler-client.ts run --alone "$work/alone.json" \
      --host "$host" --port "$port" "${client_flags[@]}" 2>"$work/client.err"); then
    row=$(printf '%-15s %s\t%s' "$setup" "$line" $(($(qdisc_drops) - before)))
  else
    row=$(printf '%-15s failed: %s' "$setup" "$(tail -3 "$work/client.err" | tr '\n' ' ')")
  fi
  if [ "$setup" != status-quo ]; then
    stop_box "$tx_pid"; stop_box "$rx_pid"
    boxes="sendbox $(tail -1 "$work/sendbox.out")"
    row="$row"$'\t'"$(tail -1 "$work/sendbox.out" | node -e '
      const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
      console.log(`${s.drops}\t${s.epochs.matched}\t${s.meanRttMs === null ? "-" : s.meanRttMs.toFixed(1)}`)')"
    echo "$prog: $boxes; receivebox $(tail -1 "$work/receivebox.out")" >&2
  fi
  rows+=("$row")
done

netns_delayline_stop
echo
echo "link: $rate, buffer $buffer_packets packets ($limit_bytes bytes), added delay $delay_note; niceness $niceness; offered ${load_mbit} Mbit/s for ${seconds} s (+${drain} s to drain), requests up to $max_bytes bytes, seed $seed"
[ -z "$delayline_note" ] || printf '%s\n' "$delayline_note"
printf '%-15s %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' setup finished 'p50' 'p99' 'p50≤10KB' 'p50>10KB' 'client lag' 'bneck drops' 'sbox drops' epochs 'epoch RTT ms'
printf '%s\n' "${rows[@]}"
cat <<'EOT'

Slowdown: completion time (last byte acknowledged) over the same size alone on the status-quo path.
bneck drops: packets the bottleneck queue dropped; sbox drops: packets the sendbox's scheduler dropped;
epochs: congestion ACKs that matched a boundary; epoch RTT: their mean RTT. client lag: p99 of the
client's event-loop delay, ms (a late client starts and acknowledges late: that is this machine's share).
EOT
