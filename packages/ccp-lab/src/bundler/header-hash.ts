/**
 * The header hash both Bundler boxes compute. It covers only fields no
 * router between the boxes rewrites (addresses, ports, the IP ID), so the
 * sendbox and the receivebox get the same value for a packet without
 * exchanging anything about it.
 */
import { InvalidArgumentError } from '@bertha/core';

/** The invariant subset of a packet's headers. */
export interface InvariantHeader {
  readonly srcIp: number;
  readonly dstIp: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** IPv4 identification: a per-sender counter, so consecutive packets of a flow hash apart. */
  readonly ipId: number;
}

/** murmur3's 32-bit finaliser: every input bit flips about half the output bits. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unsigned 32-bit hash of the invariant header fields. */
export function headerHash(h: InvariantHeader): number {
  let x = fmix32(h.srcIp ^ 0x9e3779b9);
  x = fmix32(x ^ h.dstIp);
  x = fmix32(x ^ (((h.srcPort & 0xffff) << 16) | (h.dstPort & 0xffff)));
  return fmix32(x ^ (h.ipId & 0xffff));
}

/** Largest sampling period accepted: one boundary per 65 536 packets. */
export const MAX_PERIOD = 1 << 16;

/** Throws unless `n` is a power of two in [1, MAX_PERIOD]. */
export function checkPeriod(n: number): number {
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_PERIOD && (n & (n - 1)) === 0)) {
    throw new InvalidArgumentError(`sampling period must be a power of two in [1, ${MAX_PERIOD}], got ${n}`);
  }
  return n;
}

/**
 * Whether a packet with this hash starts an epoch under period `n`. Because
 * `n` is a power of two, a boundary under 2n is also one under n: changing
 * the period keeps the two boxes' boundaries nested.
 */
export const isBoundary = (hash: number, n: number): boolean => (hash & (n - 1)) === 0;

/**
 * The period for about four epochs per RTT: the power of two nearest (in
 * log scale) to 0.25 × minRTT × send rate, in packets.
 */
export function periodFor(minRttUs: number, sendRateBytesPerSec: number, mss: number): number {
  const packets = (0.25 * (minRttUs / 1e6) * sendRateBytesPerSec) / mss;
  if (!(packets > 1)) return 1;
  return Math.min(MAX_PERIOD, 2 ** Math.round(Math.log2(packets)));
}
