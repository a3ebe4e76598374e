/**
 * A request's completion time alone on the network, the denominator of its
 * slowdown, without one alone run per request: requests of up to
 * EXACT_PACKETS packets are measured once per packet count, larger ones
 * once per count rounded down to two significant digits, plus the rest of
 * their packets at line rate. The simulated experiment and the real-socket
 * run (scripts/bundler-netns.sh) derive it the same way.
 */

/** Requests of up to this many packets get their own alone run. */
const EXACT_PACKETS = 100;

/** The packet count whose alone run stands for a request of `packets` packets. */
export function aloneKey(packets: number): number {
  if (packets <= EXACT_PACKETS) return packets;
  const scale = 10 ** (Math.floor(Math.log10(packets)) - 1);
  return Math.floor(packets / scale) * scale;
}

/** Completion time alone (µs) of `bytes`, from the alone time of its key (`alone`) and the rest at `rateBps`. */
export function aloneFct(bytes: number, mss: number, rateBps: number, alone: (key: number) => number): number {
  const packets = Math.ceil(bytes / mss);
  const k = aloneKey(packets);
  return alone(k) + ((packets - k) * mss * 8e6) / rateBps;
}
