# Sourced by scripts/netns-compare.sh and scripts/bundler-netns.sh: three
# throw-away network namespaces joined by one shaped link (nothing is
# configured in the host's namespace, so no traffic can leave them):
#
#   A 10.213.0.1/30 ── 10.213.0.2/30 router 10.213.0.5/30 ── 10.213.0.6/30 B
#
# The bottleneck is the router's egress towards B: tbf at $rate with a
# $buffer_packets queue (of 1514-byte frames), after a delay of $delay, and
# the router delays the direction back to A by $delay too, so the base RTT
# is 2 × $delay. The delay is netem's, or on kernels without sch_netem a
# user-space delay line (scripts/netns/delayline.c, compiled with cc at each
# run): two TUN devices in the router that both directions are routed
# through, still before tbf; $delay_with picks one (auto: netem when the
# kernel has it).
#
# The caller sets prog (for messages), work (a temporary directory), ns_a,
# ns_r, ns_b, rate, delay, buffer_packets, delay_with, niceness and
# trace_dir (netns_check_options checks them); netns_link_up sets
# rate_bps, limit_bytes, delay_us, delay_note and delayline_pid.
# shellcheck shell=bash

addr_a=10.213.0.1
addr_b=10.213.0.6

die() { echo "$prog: $*" >&2; exit 1; }

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

# Takes one of the options both scripts take ($1, its value $2): 0 when it
# was one (the caller shifts 2), 1 when it was not.
netns_link_option() {
  case "$1" in
    --rate) rate=${2:?} ;;
    --delay) delay=${2:?} ;;
    --buffer-packets) buffer_packets=${2:?} ;;
    --delay-with) delay_with=${2:?} ;;
    --nice) niceness=${2:?} ;;
    --trace) trace_dir=${2:?} ;;
    *) return 1 ;;
  esac
}

# Checks the options both scripts take: rate, delay, buffer_packets,
# delay_with, niceness and trace_dir (created, and made absolute).
netns_check_options() {
  [[ $rate =~ ^[0-9]+(\.[0-9]+)?[kmg]?bit$ ]] || die "--rate must look like 48mbit, 500kbit or 1gbit, got '$rate'"
  [[ $delay =~ ^[0-9]+(\.[0-9]+)?(us|ms|s)$ ]] || die "--delay must look like 10ms, 500us or 0ms, got '$delay'"
  [[ $buffer_packets =~ ^[1-9][0-9]*$ ]] || die "--buffer-packets must be a positive integer, got '$buffer_packets'"
  [[ $delay_with =~ ^(auto|netem|tun)$ ]] || die "--delay-with must be auto, netem or tun, got '$delay_with'"
  [[ $niceness =~ ^-?[0-9]+$ ]] && [ "$niceness" -ge -20 ] && [ "$niceness" -le 19 ] || die "--nice must be an integer in [-20, 19], got '$niceness'"
  [ -z "$trace_dir" ] || mkdir -p "$trace_dir" || die "cannot create the trace directory $trace_dir"
  [ -z "$trace_dir" ] || trace_dir=$(cd "$trace_dir" && pwd)
}

# Ends every process inside our namespaces (TERM, then KILL) and deletes them.
netns_delete_all() {
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
      ip netns del "$ns" || echo "$prog: could not delete namespace $ns; remove it with: ip netns del $ns" >&2
    fi
  done
}

netns_link_up() {
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
  local dev
  for dev in lo a0; do ip -n "$ns_a" link set "$dev" up; done
  for dev in lo r0 r1; do ip -n "$ns_r" link set "$dev" up; done
  for dev in lo b0; do ip -n "$ns_b" link set "$dev" up; done
  ip -n "$ns_a" route add 10.213.0.4/30 via 10.213.0.2
  ip -n "$ns_b" route add 10.213.0.0/30 via 10.213.0.5
  in_ns "$ns_r" sysctl -qw net.ipv4.ip_forward=1

  rate_bps=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = substr(r, length(n "") + 1, 1);
    print int(n * (u == "k" ? 1e3 : u == "m" ? 1e6 : u == "g" ? 1e9 : 1)) }')
  local frame=1514 burst
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
    # No sch_netem: the delay line holds packets in the router. Policy
    # routing sends what arrives on r0 into TUN device dla and what arrives
    # on r1 into dlb; the delay line re-injects each packet through the
    # other device $delay later, and the main table then forwards it as
    # usual, so A's data still queues in tbf on r1 after the delay, and the
    # way back is delayed too.
    command -v cc >/dev/null || die "no tc netem here and no C compiler for the delay line: apt-get install gcc"
    cc -O2 -Wall -o "$work/delayline" scripts/netns/delayline.c 2>"$work/err" || die "cannot compile the delay line: $(cat "$work/err")"
    # Not through in_ns: $! must be the delay line itself (ip netns exec and
    # chrt exec it). A real-time priority keeps its releases on time while
    # other processes load the machine; it sleeps in ppoll between packets.
    local rt=(); ! command -v chrt >/dev/null || rt=(chrt -f 10)
    ip netns exec "$ns_r" "${rt[@]}" "$work/delayline" dla dlb "$delay_us" >"$work/delayline.out" 2>"$work/delayline.log" &
    delayline_pid=$!
    await_ready "$work/delayline.out" "$delayline_pid" delayline 50
    for dev in dla dlb; do
      # IPv4 only: no IPv6 router solicitations from one device written into the other.
      in_ns "$ns_r" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
      # A long transmit queue: a burst from A must wait in the delay line,
      # not be dropped in front of it.
      ip -n "$ns_r" link set "$dev" up txqueuelen 10000
      in_ns "$ns_r" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0" "net.ipv4.conf.$dev.forwarding=1"
    done
    # Packets from A come back in through dlb, whose reverse path is r0.
    in_ns "$ns_r" sysctl -qw net.ipv4.conf.all.rp_filter=0
    ip -n "$ns_r" route add default dev dla table 100
    ip -n "$ns_r" rule add iif r0 lookup 100 priority 100
    ip -n "$ns_r" route add default dev dlb table 101
    ip -n "$ns_r" rule add iif r1 lookup 101 priority 101
    delay_note="$delay each way (user-space delay line over TUN)"
    tbf root handle 10:
  fi
}

# Packets the bottleneck queue has dropped so far.
qdisc_drops() {
  tc -n "$ns_r" -s qdisc show dev r1 | grep -A1 '^qdisc tbf' | sed -n 's/.*dropped \([0-9]*\).*/\1/p'
}

# Stops the delay line (if any) and sets delayline_note to its counters and
# its devices' drops.
netns_delayline_stop() {
  delayline_note=
  [ -n "$delayline_pid" ] || return 0
  # Its devices go with it: read their drops first.
  local tun_drops dev
  tun_drops=$(for dev in dla dlb; do
    printf '  %s: %s packets dropped in its transmit queue, in front of the delay line\n' "$dev" \
      "$(in_ns "$ns_r" cat "/sys/class/net/$dev/statistics/tx_dropped" 2>/dev/null || echo '?')"
  done)
  kill -TERM "$delayline_pid" 2>/dev/null || true
  wait "$delayline_pid" 2>/dev/null || true
  delayline_pid=
  delayline_note=$(sed 's/^/  /' "$work/delayline.log"; printf '%s\n' "$tun_drops")
}
