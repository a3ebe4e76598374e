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

usage() { sed -n '6,7p' "$0" | sed 's/^# *//' >&2; exit 2; }
die() { echo "netns-compare: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=${2:?}; shift 2 ;;
    --delay) delay=${2:?}; shift 2 ;;
    --buffer-packets) buffer_packets=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --cc) cc=${2:?}; shift 2 ;;
    --mss) mss=${2:?}; shift 2 ;;
    --delay-with) delay_with=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --trace) trace_dir=${2:?}; shift 2 ;;
    --nice) niceness=${2:?}; shift 2 ;;
    --jit-warmup) jit_warmup=${2:?}; shift 2 ;;
    --rows) rows_file=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "netns-compare: unknown option $1" >&2; usage ;;
  esac
done

[[ $rate =~ ^[0-9]+(\.[0-9]+)?[kmg]?bit$ ]] || die "--rate must look like 48mbit, 500kbit or 1gbit, got '$rate'"
[[ $delay =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "--delay must look like 10ms, 500us or 0ms, got '$delay'"
[[ $buffer_packets =~ ^[1-9][0-9]*$ ]] || die "--buffer-packets must be a positive integer, got '$buffer_packets'"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer, got '$seconds'"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a whole number of seconds, got '$warmup'"
[[ $jit_warmup =~ ^[0-9]+$ ]] || die "--jit-warmup must be a whole number of seconds, got '$jit_warmup'"
[ -z "$rows_file" ] || touch "$rows_file" || die "cannot write the rows file $rows_file"
[ -z "$rows_file" ] || rows_file=$(cd "$(dirname "$rows_file")" && pwd)/$(basename "$rows_file")
[[ $delay_with =~ ^(auto|netem|tun)$ ]] || die "--delay-with must be auto, netem or tun, got '$delay_with'"
[[ $niceness =~ ^-?[0-9]+$ ]] && [ "$niceness" -ge -20 ] && [ "$niceness" -le 19 ] || die "--nice must be an integer in [-20, 19], got '$niceness'"
[[ $runs =~ ^(tcp|iperf|ccp|native)(,(tcp|iperf|ccp|native))*$ ]] || die "--runs must be a comma-separated subset of tcp,iperf,ccp,native, got '$runs'"
[ -z "$trace_dir" ] || mkdir -p "$trace_dir" || die "cannot create the trace directory $trace_dir"
[ -z "$trace_dir" ] || trace_dir=$(cd "$trace_dir" && pwd)
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
addr_a=10.213.0.1
addr_b=10.213.0.6
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
  local ns pid
  for ns in "$ns_a" "$ns_r" "$ns_b"; do
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    fi
  done
  sleep 0.3
  for ns in "$ns_a" "$ns_r" "$ns_b"; do
    if ip netns list | grep -qw "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
      # Deleting a namespace deletes its veth ends and their qdiscs.
      ip netns del "$ns" || echo "netns-compare: could not delete namespace $ns; remove it with: ip netns del $ns" >&2
    fi
  done
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

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Waits until the background process $2 (what: $3) prints "ready" into $1,
# for at most $4 tenths of a second.
await_ready() {
  local out=$1 pid=$2 what=$3 tenths=$4
  for _ in $(seq "$tenths"); do
    grep -qx ready "$out" && return 0
    kill -0 "$pid" 2>/dev/null || die "$what failed to start: $(cat "$out" "$work/$what.log" 2>/dev/null)"
    sleep 0.1
  done
  die "$what did not start within $((tenths / 10)) s: $(cat "$out")"
}

# --- the link -----------------------------------------------------------
ip netns add "$ns_a" 2>"$work/err" \
  || die "cannot create network namespaces ($(cat "$work/err")): this needs CAP_SYS_ADMIN and a kernel with CONFIG_NET_NS"
ip netns add "$ns_r"
ip netns add "$ns_b"
ip link add name a0 netns "$ns_a" type veth peer name r0 netns "$ns_r"
ip link add name r1 netns "$ns_r" type veth peer name b0 netns "$ns_b"
ip -n "$ns_a" addr add "$addr_a/30" dev a0
ip -n "$ns_r" addr add 10.213.0.2/30 dev r0
ip -n "$ns_r" addr add 10.213.0.5/30 dev r1
ip -n "$ns_b" addr add "$addr_b/30" dev b0
for dev in lo a0; do ip -n "$ns_a" link set "$dev" up; done
for dev in lo r0 r1; do ip -n "$ns_r" link set "$dev" up; done
for dev in lo b0; do ip -n "$ns_b" link set "$dev" up; done
ip -n "$ns_a" route add 10.213.0.4/30 via 10.213.0.2
ip -n "$ns_b" route add 10.213.0.0/30 via 10.213.0.5
in_ns "$ns_r" sysctl -qw net.ipv4.ip_forward=1

rate_bps=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = substr(r, length(n "") + 1, 1);
  print int(n * (u == "k" ? 1e3 : u == "m" ? 1e6 : u == "g" ? 1e9 : 1)) }')
frame=1514
limit_bytes=$((buffer_packets * frame))
# About a millisecond of bursts, and never less than a few frames.
burst=$((rate_bps / 8 / 1000)); [ "$burst" -ge $((4 * frame)) ] || burst=$((4 * frame))

delay_us=$(awk -v d="$delay" 'BEGIN { n = d + 0; u = substr(d, length(n "") + 1);
  printf "%d", n * (u == "s" ? 1e6 : u == "ms" ? 1e3 : 1) }')
delay_note="$delay each way"
tbf() { tc -n "$ns_r" qdisc add dev r1 "$@" tbf rate "$rate" burst "$burst" limit "$limit_bytes"; }
if [ "$delay_us" = 0 ]; then
  delay_note=none
  tbf root handle 10:
elif [ "$delay_with" != tun ] && tc -n "$ns_r" qdisc add dev r1 root handle 1: netem delay "$delay" limit 100000 2>"$work/err"; then
  tbf parent 1:1 handle 10:
  tc -n "$ns_r" qdisc add dev r0 root netem delay "$delay" limit 100000
elif [ "$delay_with" = netem ]; then
  die "tc netem is not available here ($(cat "$work/err")); use --delay-with tun (the user-space delay line)"
else
  # No sch_netem: the delay line (scripts/netns/delayline.c) holds packets in
  # the router. Policy routing sends what arrives on r0 into TUN device dla
  # and what arrives on r1 into dlb; the delay line re-injects each packet
  # through the other device $delay later, and the main table then forwards
  # it as usual, so the sender's data still queues in tbf on r1 after the
  # delay, and the ACKs are delayed on the way back.
  command -v cc >/dev/null || die "no tc netem here and no C compiler for the delay line: apt-get install gcc"
  cc -O2 -Wall -o "$work/delayline" scripts/netns/delayline.c 2>"$work/err" || die "cannot compile the delay line: $(cat "$work/err")"
  # Not through in_ns: $! must be the delay line itself (ip netns exec and
  # chrt exec it). A real-time priority keeps its releases on time while
  # other processes load the machine; it sleeps in ppoll between packets.
  rt=(); ! command -v chrt >/dev/null || rt=(chrt -f 10)
  ip netns exec "$ns_r" "${rt[@]}" "$work/delayline" dla dlb "$delay_us" >"$work/delayline.out" 2>"$work/delayline.log" &
  delayline_pid=$!
  await_ready "$work/delayline.out" "$delayline_pid" delayline 50
  for dev in dla dlb; do
    # IPv4 only: no IPv6 router solicitations from one device written into the other.
    in_ns "$ns_r" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
    # A long transmit queue: a burst from the sender must wait in the delay
    # line, not be dropped in front of it.
    ip -n "$ns_r" link set "$dev" up txqueuelen 10000
    in_ns "$ns_r" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0" "net.ipv4.conf.$dev.forwarding=1"
  done
  # Packets from the sender come back in through dlb, whose reverse path is r0.
  in_ns "$ns_r" sysctl -qw net.ipv4.conf.all.rp_filter=0
  ip -n "$ns_r" route add default dev dla table 100
  ip -n "$ns_r" rule add iif r0 lookup 100 priority 100
  ip -n "$ns_r" route add default dev dlb table 101
  ip -n "$ns_r" rule add iif r1 lookup 101 priority 101
  delay_note="$delay each way (user-space delay line over TUN)"
  tbf root handle 10:
fi

qdisc_drops() {
  tc -n "$ns_r" -s qdisc show dev r1 | grep -A1 '^qdisc tbf' | sed -n 's/.*dropped \([0-9]*\).*/\1/p'
}

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

delayline_note=
if [ -n "$delayline_pid" ]; then
  # Its devices go with it: read their drops first.
  tun_drops=$(for dev in dla dlb; do
    printf '  %s: %s packets dropped in its transmit queue, in front of the delay line\n' "$dev" \
      "$(in_ns "$ns_r" cat "/sys/class/net/$dev/statistics/tx_dropped" 2>/dev/null || echo '?')"
  done)
  kill -TERM "$delayline_pid" 2>/dev/null || true
  wait "$delayline_pid" 2>/dev/null || true
  delayline_pid=
  delayline_note=$(sed 's/^/  /' "$work/delayline.log"; printf '%s\n' "$tun_drops")
fi

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
