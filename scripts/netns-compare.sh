#!/usr/bin/env bash
# Real-kernel comparison (GitHub issue 5): Linux TCP and the CCP transport
# (CCP-driven, then its native in-datapath algorithm) across the same shaped
# link, one flow at a time; prints goodput, RTT, losses and the bottleneck's
# queueing delay per run.
#
#   sudo scripts/netns-compare.sh [--rate 48mbit] [--delay 10ms] [--buffer-packets 100]
#                                 [--seconds 10] [--warmup 1] [--cc cubic] [--mss 1448]
#                                 [--delay-with auto|netem|tun] [--runs tcp,iperf,ccp,native]
#                                 [--trace DIR] [--nice N] [--jit-warmup S] [--rows FILE]
#
# Topology, all inside three throw-away network namespaces (nothing is
# configured in the host's namespace, so no traffic can leave them):
#
#   sender 10.213.0.1/30 ── 10.213.0.2/30 router 10.213.0.5/30 ── 10.213.0.6/30 sink
#
# The bottleneck is the router's egress towards the sink: tbf at --rate with
# a --buffer-packets queue (of 1514-byte frames), after a netem --delay. The
# router also delays the ACK direction by --delay, so the base RTT is
# 2 × --delay. Kernels without sch_netem (for instance CONFIG_NET_SCH_NETEM
# unset) get the delay from a user-space delay line instead
# (scripts/netns/delayline.c, compiled with cc at each run): two TUN devices
# in the router that both directions are routed through, still before tbf;
# --delay-with picks one (auto: netem when the kernel has it). The queue sits on a router, not on the sender's own interface,
# because Linux TCP treats drops in its host's qdisc as local congestion and
# TCP small queues keep it from filling that queue, while UDP is not held back:
# the comparison would not be like for like.
#
# The queueing delay is measured at the bottleneck, the same way for every
# run: tbf's backlog, sampled every 50 ms from the sender's start to its end
# (slow start included), divided by --rate.
#
# --nice N runs the senders and the sinks (Node and iperf3 alike) at that
# niceness (e.g. -10): on a machine loaded by other work, the transport's
# user-space sender and receiver otherwise stall for tens of milliseconds,
# which the RTT and loss figures then measure instead of the algorithm, while
# Linux TCP's ACK processing runs in softirq and is hardly held back.
# --jit-warmup S (default 2) has each Node sender first run the same kind of
# flow on its own loopback for S seconds, so the measured flow starts on
# optimized code (see scripts/netns/send.ts); 0 turns it off. --rows FILE
# appends one tab-separated line per run (shape, run, algorithm, Mbit/s,
# min RTT, SRTT, queue p50, queue p95, losses, drops) for `pnpm bench netns`.
# --runs picks the runs (default all four). --trace DIR writes each Node
# sender's probe every 20 ms to DIR/<run>.tsv (ms, acked bytes, cwnd bytes,
# SRTT µs, losses): where in the run losses and queueing happen.
#
# TCP's algorithm is the sender namespace's net.ipv4.tcp_congestion_control
# (Node cannot set TCP_CONGESTION per socket); the TCP run is a Node sender
# (scripts/netns/send.ts), plus iperf3 when installed (Debian: apt-get install
# iperf3). Needs root, iproute2 (ip, tc, ss) and the workspace's dependencies.
# Not part of the test suite.
set -euo pipefail

rate=48mbit
delay=10ms
buffer_packets=100
seconds=10
warmup=1
cc=cubic
mss=1448
delay_with=auto
runs=tcp,iperf,ccp,native
trace_dir=
niceness=0
jit_warmup=2
rows_file=

prog=netns-compare
usage() { sed -n '6,7p' "$0" | sed 's/^# *//' >&2; exit 2; }
# shellcheck source=netns/link.sh
. "$(dirname "$0")/netns/link.sh"

while [ $# -gt 0 ]; do
  if netns_link_option "$@"; then shift 2; continue; fi
  case "$1" in
    --seconds) seconds=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --cc) cc=${2:?}; shift 2 ;;
    --mss) mss=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --jit-warmup) jit_warmup=${2:?}; shift 2 ;;
    --rows) rows_file=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "netns-compare: unknown option $1" >&2; usage ;;
  esac
done

netns_check_options
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer, got '$seconds'"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a whole number of seconds, got '$warmup'"
[[ $jit_warmup =~ ^[0-9]+$ ]] || die "--jit-warmup must be a whole number of seconds, got '$jit_warmup'"
[ -z "$rows_file" ] || touch "$rows_file" || die "cannot write the rows file $rows_file"
[ -z "$rows_file" ] || rows_file=$(cd "$(dirname "$rows_file")" && pwd)/$(basename "$rows_file")
[[ $runs =~ ^(tcp|iperf|ccp|native)(,(tcp|iperf|ccp|native))*$ ]] || die "--runs must be a comma-separated subset of tcp,iperf,ccp,native, got '$runs'"
[[ $cc =~ ^(reno|cubic)$ ]] || die "--cc must be reno or cubic (the algorithms the transport has natively), got '$cc'"
[[ $mss =~ ^[0-9]+$ ]] && [ "$mss" -ge 64 ] && [ "$mss" -le 1458 ] \
  || die "--mss must be in [64, 1458] so a packet fits the veth's 1500-byte MTU, got '$mss'"

[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces): sudo $0 $*"
for tool in ip tc ss timeout; do
  command -v "$tool" >/dev/null || die "'$tool' is missing: install iproute2 and coreutils"
done
cd "$(dirname "$0")/.."
tsx=$PWD/node_modules/.bin/tsx
[ -x "$tsx" ] || die "$tsx is missing: run scripts/setup.sh (or pnpm install) first"

ns_a=bertha-a-$$
ns_r=bertha-r-$$
ns_b=bertha-b-$$
tcp_port=5301
udp_port=5302
iperf_port=5303
work=$(mktemp -d)
restore_allowed=
delayline_pid=
sampler_pid=

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Our own background jobs, then every process inside our own namespaces
  # (the sink, an iperf3 server, the delay line).
  [ -z "$sampler_pid" ] || kill "$sampler_pid" 2>/dev/null || true
  netns_delete_all
  if [ -n "$restore_allowed" ]; then
    sysctl -qw net.ipv4.tcp_allowed_congestion_control="$restore_allowed" \
      || echo "netns-compare: could not restore net.ipv4.tcp_allowed_congestion_control to '$restore_allowed'" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "netns-compare: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the link -----------------------------------------------------------
netns_link_up

available=$(cat /proc/sys/net/ipv4/tcp_available_congestion_control)
allowed=$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control)
if [[ " $available " != *" $cc "* ]]; then
  echo "netns-compare: WARNING: the kernel has no TCP '$cc' (available: $available); TCP runs use $(in_ns "$ns_a" sysctl -n net.ipv4.tcp_congestion_control)" >&2
else
  # A namespace other than the host's may only default to an algorithm in the
  # host's allowed list; add it there for the run, and restore it on exit.
  if [[ " $allowed " != *" $cc "* ]]; then
    echo "netns-compare: adding $cc to the host's net.ipv4.tcp_allowed_congestion_control ($allowed) until this script exits" >&2
    restore_allowed=$allowed
    sysctl -qw net.ipv4.tcp_allowed_congestion_control="$allowed $cc"
  fi
  in_ns "$ns_a" sysctl -qw net.ipv4.tcp_congestion_control="$cc"
fi

base_rtt_note=
if command -v ping >/dev/null; then
  in_ns "$ns_a" ping -c 1 -W 2 "$addr_b" >/dev/null || die "the namespaces cannot reach each other ($addr_a -> $addr_b)"
  # The path's RTT without a queue: what the added delay came to.
  base_rtt_note=$(in_ns "$ns_a" ping -q -c 20 -i 0.05 "$addr_b" | sed -n 's|^rtt min/avg/max/mdev = \([^ ]*\) ms|\1|p')
  base_rtt_note="; ping RTT min/avg/max/mdev $base_rtt_note ms"
fi

# --- the runs -----------------------------------------------------------
in_ns "$ns_b" nice -n "$niceness" "$tsx" scripts/netns/sink.ts --host "$addr_b" --tcp-port "$tcp_port" --udp-port "$udp_port" >"$work/sink.log" 2>&1 &
await_ready "$work/sink.log" $! sink 300

run_timeout=$((jit_warmup + warmup + seconds + 30))
rows=()

# The tbf queue's backlog (as tc prints it: 1234b, 15Kb, 2Mb) every 50 ms
# into $work/backlog, until stop_sampler.
start_sampler() {
  : >"$work/backlog"
  while :; do
    tc -n "$ns_r" -s qdisc show dev r1 | awk '/^qdisc tbf/ { t = 1 } t && $1 == "backlog" { print $2; exit }'
    sleep 0.05
  done >>"$work/backlog" &
  sampler_pid=$!
}
stop_sampler() {
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=
}
# p50 and p95 of the sampled backlog as queueing delay at the link's rate, ms.
queue_percentiles() {
  awk -v bps="$rate_bps" '{ n = $1 + 0; u = substr($1, length(n "") + 1);
      print n * (u == "Kb" ? 1024 : u == "Mb" ? 1048576 : 1) * 8000 / bps }' "$work/backlog" \
    | sort -g | awk '{ v[NR] = $1 } END {
      if (NR == 0) { print "- -"; exit }
      i50 = int(NR * 0.50 + 0.999); i95 = int(NR * 0.95 + 0.999);
      printf "%.2f %.2f", v[i50 < 1 ? 1 : i50], v[i95 < 1 ? 1 : i95] }'
}

# Appends a row from a sender's tab-separated algorithm, goodput, min RTT,
# mean SRTT and loss events, the qdisc's drops since drops_before, and the
# bottleneck's queueing delay over the run.
record() {
  local name=$1 line=$2 drops_before=$3 alg gp minrtt srtt lost q50 q95
  IFS=$'\t' read -r alg gp minrtt srtt lost <<<"$line"
  read -r q50 q95 <<<"$(queue_percentiles)"
  local drops=$(($(qdisc_drops) - drops_before))
  [ -z "$rows_file" ] || printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$rate/$delay" "$name" "$alg" "$gp" "$minrtt" "$srtt" "$q50" "$q95" "$lost" "$drops" >>"$rows_file"
  rows+=("$(printf '%-22s %-14s %9s %9s %9s %9s %9s %8s %8s' "$name" "$alg" "$gp" "$minrtt" "$srtt" "$q50" "$q95" "$lost" "$drops")")
}

sender_run() {
  local name=$1 kind=$2; shift 2
  local before out trace=()
  [ -z "$trace_dir" ] || trace=(--trace "$trace_dir/$kind.tsv")
  before=$(qdisc_drops)
  echo "netns-compare: $name for ${warmup}+${seconds} s ..." >&2
  start_sampler
  if out=$(timeout "$run_timeout" ip netns exec "$ns_a" nice -n "$niceness" "$tsx" scripts/netns/send.ts --host "$addr_b" \
      --seconds "$seconds" --warmup "$warmup" --jit-warmup "$jit_warmup" --mss "$mss" --algorithm "$cc" --kind "$kind" "${trace[@]}" "$@" 2>"$work/send.err"); then
    stop_sampler
    record "$name" "$out" "$before"
  else
    stop_sampler
    echo "netns-compare: $name failed: $(tail -5 "$work/send.err")" >&2
    rows+=("$(printf '%-22s failed (see the message above)' "$name")")
  fi
}

iperf_run() {
  local before json line
  before=$(qdisc_drops)
  echo "netns-compare: iperf3 TCP for ${warmup}+${seconds} s ..." >&2
  in_ns "$ns_b" nice -n "$niceness" iperf3 -s -1 -B "$addr_b" -p "$iperf_port" >"$work/iperf-server.log" 2>&1 &
  for _ in $(seq 50); do
    in_ns "$ns_b" ss -Htln "sport = :$iperf_port" | grep -q . && break
    sleep 0.1
  done
  start_sampler
  if json=$(timeout "$run_timeout" ip netns exec "$ns_a" nice -n "$niceness" iperf3 -c "$addr_b" -p "$iperf_port" -t "$seconds" -O "$warmup" -C "$cc" -J 2>"$work/iperf.err") \
    && line=$(node -e '
      const r = JSON.parse(require("fs").readFileSync(0, "utf8")), s = r.end.streams[0].sender;
      console.log([r.end.sender_tcp_congestion, (r.end.sum_received.bits_per_second / 1e6).toFixed(1),
        (s.min_rtt / 1000).toFixed(2), (s.mean_rtt / 1000).toFixed(2), r.end.sum_sent.retransmits].join("\t"));' <<<"$json"); then
    stop_sampler
    record "iperf3 TCP" "$line" "$before"
  else
    stop_sampler
    echo "netns-compare: iperf3 failed: $(cat "$work/iperf.err") $(tail -c 400 <<<"${json:-}")" >&2
    rows+=("$(printf '%-22s failed (see the message above)' 'iperf3 TCP')")
  fi
}

runs=",$runs,"
[[ $runs != *,tcp,* ]] || sender_run "Linux TCP (Node)" tcp --port "$tcp_port"
if [[ $runs == *,iperf,* ]]; then
  if command -v iperf3 >/dev/null; then iperf_run; else echo "netns-compare: iperf3 not installed; skipping its run" >&2; fi
fi
[[ $runs != *,ccp,* ]] || sender_run "CCP transport, CCP" ccp --port "$udp_port"
[[ $runs != *,native,* ]] || sender_run "CCP transport, native" native --port "$udp_port"

netns_delayline_stop

echo
echo "link: $rate, buffer $buffer_packets packets ($limit_bytes bytes), added delay $delay_note${base_rtt_note}; ${seconds} s measured after ${warmup} s warm-up; mss $mss; niceness $niceness"
[ -z "$delayline_note" ] || printf '%s\n' "$delayline_note"
printf '%-22s %-14s %9s %9s %9s %9s %9s %8s %8s\n' run algorithm 'Mbit/s' 'minRTT ms' 'SRTT ms' 'q p50 ms' 'q p95 ms' losses drops
printf '%s\n' "${rows[@]}"
cat <<EOF

Mbit/s: goodput over the measured window (bytes acknowledged; iperf3: received). The link carries
at most $rate of Ethernet frames: $mss-byte payloads cost 66 bytes of headers over TCP, 56 over the
transport's UDP. SRTT: mean of samples every 100 ms after the warm-up (iperf3: its own mean; its
minRTT is its smallest smoothed RTT). q p50/p95: the bottleneck's queueing delay, its backlog sampled
every 50 ms over the whole run (slow start included) over $rate. losses: TCP segments retransmitted
(iperf3: after the warm-up only) / transport packets declared lost, over the whole run. drops:
packets the bottleneck queue dropped during the run.
EOF
