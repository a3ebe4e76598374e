/**
 * What the two Bundler relays say to each other over UDP (all big-endian).
 * A sender's datagram crosses the bottleneck inside a `data` frame whose
 * header is the packet's invariant header: the sender's IPv4 address and
 * port, and a per-flow counter the sendbox stamps as the IP ID. Neither box
 * rewrites it, so both hash the same bytes (`headerHash`), as the published
 * boxes hash the IP and transport headers. Replies to the sender come back
 * in `reverse` frames; congestion ACKs (`feedback`) and new sampling
 * periods (`period`) are the boxes' out-of-band messages.
 *
 * A fixed binary layout rather than msgpackr: a data frame's header is
 * written and read once per packet of the bundle, and its bytes are what
 * both boxes hash.
 *
 *   data     1 | srcIp u32 | srcPort u16 | ipId u16 | payload
 *   reverse  2 | srcIp u32 | srcPort u16 | payload
 *   feedback 3 | hash u32  | period u32  | recvBytes f64
 *   period   4 | period u32
 */
import type { InvariantHeader } from '../header-hash.js';
import type { EpochFeedback } from '../receivebox.js';

export const DATA_HEADER_BYTES = 9;
const REVERSE_HEADER_BYTES = 7;
const FEEDBACK_BYTES = 17;
const PERIOD_BYTES = 5;

/** IPv4 + UDP headers: what a datagram costs on the wire beyond its payload. */
export const UDP_IPV4_OVERHEAD = 28;

/** A sender (or its flow) by IPv4 address and port. */
export interface FlowAddress {
  readonly ip: number;
  readonly port: number;
}

export type Frame =
  | { readonly kind: 'data'; readonly header: InvariantHeader; readonly payload: Uint8Array }
  | { readonly kind: 'reverse'; readonly flow: FlowAddress; readonly payload: Uint8Array }
  | { readonly kind: 'feedback'; readonly feedback: EpochFeedback }
  | { readonly kind: 'period'; readonly period: number };

/** The invariant header of a sender's datagram: its address, and the sendbox's per-flow counter as IP ID. */
export const invariantHeader = (flow: FlowAddress, ipId: number): InvariantHeader => ({ srcIp: flow.ip, srcPort: flow.port, dstIp: 0, dstPort: 0, ipId: ipId & 0xffff });

export function encodeData(header: InvariantHeader, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(DATA_HEADER_BYTES + payload.byteLength);
  b[0] = 1;
  b.writeUInt32BE(header.srcIp >>> 0, 1);
  b.writeUInt16BE(header.srcPort & 0xffff, 5);
  b.writeUInt16BE(header.ipId & 0xffff, 7);
  b.set(payload, DATA_HEADER_BYTES);
  return b;
}

export function encodeReverse(flow: FlowAddress, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(REVERSE_HEADER_BYTES + payload.byteLength);
  b[0] = 2;
  b.writeUInt32BE(flow.ip >>> 0, 1);
  b.writeUInt16BE(flow.port & 0xffff, 5);
  b.set(payload, REVERSE_HEADER_BYTES);
  return b;
}

export function encodeFeedback(fb: EpochFeedback): Buffer {
  const b = Buffer.allocUnsafe(FEEDBACK_BYTES);
  b[0] = 3;
  b.writeUInt32BE(fb.hash >>> 0, 1);
  b.writeUInt32BE(fb.period >>> 0, 5);
  b.writeDoubleBE(fb.recvBytes, 9);
  return b;
}

export function encodePeriod(n: number): Buffer {
  const b = Buffer.allocUnsafe(PERIOD_BYTES);
  b[0] = 4;
  b.writeUInt32BE(n >>> 0, 1);
  return b;
}

/** The frame in `b`, or undefined when it is none (too short, unknown kind): a relay drops and counts it. */
export function decodeFrame(b: Buffer): Frame | undefined {
  switch (b.length > 0 ? b[0] : 0) {
    case 1:
      if (b.length < DATA_HEADER_BYTES) return undefined;
      return { kind: 'data', header: invariantHeader({ ip: b.readUInt32BE(1), port: b.readUInt16BE(5) }, b.readUInt16BE(7)), payload: b.subarray(DATA_HEADER_BYTES) };
    case 2:
      if (b.length < REVERSE_HEADER_BYTES) return undefined;
      return { kind: 'reverse', flow: { ip: b.readUInt32BE(1), port: b.readUInt16BE(5) }, payload: b.subarray(REVERSE_HEADER_BYTES) };
    case 3:
      if (b.length !== FEEDBACK_BYTES) return undefined;
      return { kind: 'feedback', feedback: { hash: b.readUInt32BE(1), period: b.readUInt32BE(5), recvBytes: b.readDoubleBE(9) } };
    case 4:
      if (b.length !== PERIOD_BYTES) return undefined;
      return { kind: 'period', period: b.readUInt32BE(1) };
    default:
      return undefined;
  }
}

/** A dotted IPv4 address as a 32-bit number; undefined for anything else. */
export function ipv4ToNumber(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export const numberToIpv4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
