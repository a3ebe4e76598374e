#!/usr/bin/env bash
# Real-kernel comparison (GitHub issue 5): Linux TCP and the CCP transport
# (CCP-driven, then its native in-datapath algorithm) across the same shaped
# link, one flow at a time; prints goodput and RTT per run.
#
#   sudo scripts/netns-compare.sh [--rate 48mbit] [--delay 10ms] [--buffer-packets 100]
#                                 [--seconds 10] [--warmup 1] [--cc cubic] [--mss 1448]
#
# Topology, all inside three throw-away network namespaces (nothing is
# configured in the host's namespace, so no traffic can leave them):
#
#   sender 10.213.0.1/30 ── 10.213.0.2/30 router 10.213.0.5/30 ── 10.213.0.6/30 sink
#
# The bottleneck is the router's egress towards the sink: tbf at --rate with
# a --buffer-packets queue (of 1514-byte frames), after a netem --delay. The
# router also delays the ACK direction by --delay, so the base RTT is
# 2 × --delay. The queue sits on a router, not on the sender's own interface,
# because Linux TCP treats drops in its host's qdisc as local congestion and
# TCP small queues keep it from filling that queue, while UDP is not held back:
# the comparison would not be like for like. Kernels without sch_netem (for
# instance CONFIG_NET_SCH_NETEM unset) get the rate and the buffer but no
# added delay; the script says so.
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
    -h|--help) usage ;;
    *) echo "netns-compare: unknown option $1" >&2; usage ;;
  esac
done

[[ $rate =~ ^[0-9]+(\.[0-9]+)?[kmg]?bit$ ]] || die "--rate must look like 48mbit, 500kbit or 1gbit, got '$rate'"
[[ $delay =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "--delay must look like 10ms, 500us or 0ms, got '$delay'"
[[ $buffer_packets =~ ^[1-9][0-9]*$ ]] || die "--buffer-packets must be a positive integer, got '$buffer_packets'"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer, got '$seconds'"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a whole number of seconds, got '$warmup'"
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

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Only processes inside our own namespaces: the sink, an iperf3 server.
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

delay_zero=$(awk -v d="$delay" 'BEGIN { print (d + 0 == 0) ? 1 : 0 }')
delay_note="$delay each way"
if [ "$delay_zero" = 1 ]; then
  delay_note=none
  tc -n "$ns_r" qdisc add dev r1 root handle 10: tbf rate "$rate" burst "$burst" limit "$limit_bytes"
elif tc -n "$ns_r" qdisc add dev r1 root handle 1: netem delay "$delay" limit 100000 2>"$work/err"; then
  tc -n "$ns_r" qdisc add dev r1 parent 1:1 handle 10: tbf rate "$rate" burst "$burst" limit "$limit_bytes"
  tc -n "$ns_r" qdisc add dev r0 root netem delay "$delay" limit 100000
else
  echo "netns-compare: WARNING: tc netem is not available here ($(cat "$work/err")); shaping rate and buffer only, WITHOUT the --delay $delay" >&2
  delay_note="none (no sch_netem in this kernel)"
  tc -n "$ns_r" qdisc add dev r1 root handle 10: tbf rate "$rate" burst "$burst" limit "$limit_bytes"
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

! command -v ping >/dev/null || in_ns "$ns_a" ping -c 1 -W 2 "$addr_b" >/dev/null || die "the namespaces cannot reach each other ($addr_a -> $addr_b)"

# --- the runs -----------------------------------------------------------
in_ns "$ns_b" "$tsx" scripts/netns/sink.ts --host "$addr_b" --tcp-port "$tcp_port" --udp-port "$udp_port" >"$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 300); do
  grep -qx ready "$work/sink.log" && break
  kill -0 "$sink_pid" 2>/dev/null || die "the sink failed to start: $(cat "$work/sink.log")"
  sleep 0.1
done
grep -qx ready "$work/sink.log" || die "the sink did not start within 30 s: $(cat "$work/sink.log")"

run_timeout=$((warmup + seconds + 30))
rows=()

# Appends a row from a sender's tab-separated algorithm, goodput, min RTT,
# mean SRTT and loss events, and the qdisc's drops since drops_before. The
# queueing delay is SRTT minus the min RTT, or minus base_rtt when given.
record() {
  local name=$1 line=$2 drops_before=$3 base_rtt=${4:-} alg gp minrtt srtt lost q
  IFS=$'\t' read -r alg gp minrtt srtt lost <<<"$line"
  last_min_rtt=$minrtt
  q=$(awk -v a="$srtt" -v b="${base_rtt:-$minrtt}" 'BEGIN { if (b == "-") print "-"; else printf "%.2f", (a > b) ? a - b : 0 }')
  rows+=("$(printf '%-22s %-14s %9s %9s %10s %9s %8s %8s' "$name" "$alg" "$gp" "$minrtt" "$srtt" "$q" "$lost" $(($(qdisc_drops) - drops_before)))")
}

sender_run() {
  local name=$1; shift
  local before out
  before=$(qdisc_drops)
  echo "netns-compare: $name for ${warmup}+${seconds} s ..." >&2
  if out=$(timeout "$run_timeout" ip netns exec "$ns_a" "$tsx" scripts/netns/send.ts --host "$addr_b" \
      --seconds "$seconds" --warmup "$warmup" --mss "$mss" --algorithm "$cc" "$@" 2>"$work/send.err"); then
    record "$name" "$out" "$before"
  else
    echo "netns-compare: $name failed: $(tail -5 "$work/send.err")" >&2
    rows+=("$(printf '%-22s failed (see the message above)' "$name")")
  fi
}

iperf_run() {
  local before json line
  before=$(qdisc_drops)
  echo "netns-compare: iperf3 TCP for ${warmup}+${seconds} s ..." >&2
  in_ns "$ns_b" iperf3 -s -1 -B "$addr_b" -p "$iperf_port" >"$work/iperf-server.log" 2>&1 &
  for _ in $(seq 50); do
    in_ns "$ns_b" ss -Htln "sport = :$iperf_port" | grep -q . && break
    sleep 0.1
  done
  if json=$(timeout "$run_timeout" ip netns exec "$ns_a" iperf3 -c "$addr_b" -p "$iperf_port" -t "$seconds" -O "$warmup" -C "$cc" -J 2>"$work/iperf.err") \
    && line=$(node -e '
      const r = JSON.parse(require("fs").readFileSync(0, "utf8")), s = r.end.streams[0].sender;
      console.log([r.end.sender_tcp_congestion, (r.end.sum_received.bits_per_second / 1e6).toFixed(1),
        "-", (s.mean_rtt / 1000).toFixed(2), r.end.sum_sent.retransmits].join("\t"));' <<<"$json"); then
    # iperf3's min_rtt is its smallest smoothed RTT, not the path's: measure
    # its queueing delay against the Node TCP run's min RTT on the same link.
    record "iperf3 TCP" "$line" "$before" "$tcp_min_rtt"
  else
    echo "netns-compare: iperf3 failed: $(cat "$work/iperf.err") $(tail -c 400 <<<"${json:-}")" >&2
    rows+=("$(printf '%-22s failed (see the message above)' 'iperf3 TCP')")
  fi
}

last_min_rtt=-
sender_run "Linux TCP (Node)" --kind tcp --port "$tcp_port"
tcp_min_rtt=$last_min_rtt
if command -v iperf3 >/dev/null; then iperf_run; else echo "netns-compare: iperf3 not installed; skipping its run" >&2; fi
sender_run "CCP transport, CCP" --kind ccp --port "$udp_port"
sender_run "CCP transport, native" --kind native --port "$udp_port"

echo
echo "link: $rate, buffer $buffer_packets packets ($limit_bytes bytes), added delay $delay_note; ${seconds} s measured after ${warmup} s warm-up; mss $mss"
printf '%-22s %-14s %9s %9s %10s %9s %8s %8s\n' run algorithm 'Mbit/s' 'minRTT ms' 'SRTT ms' 'queue ms' losses drops
printf '%s\n' "${rows[@]}"
cat <<EOF

Mbit/s: goodput over the measured window (bytes acknowledged; iperf3: received). The link carries
at most $rate of Ethernet frames: $mss-byte payloads cost 66 bytes of headers over TCP, 56 over the
transport's UDP. SRTT: mean of samples every 100 ms (iperf3: its own mean). queue = SRTT - minRTT
(iperf3: SRTT - the Node TCP run's minRTT); the transport's minRTT includes its receiver's delayed ACKs
and Node's event loop. losses: TCP segments retransmitted (iperf3: after the warm-up only) /
transport packets declared lost. drops: packets the bottleneck queue dropped during the run.
EOF
