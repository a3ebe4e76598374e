/**
 * Wire format of the CCP transport (big-endian). Sequence numbers count
 * packets (as QUIC's), not bytes, and are 48 bits wide so they never wrap.
 *
 *   DATA  u8 0xC1 | u8 flags | u16 payloadLen | u48 seq | u32 tsval | payload
 *         flags: bit 0 first segment of a message, bit 1 last segment
 *   ACK   u8 0xC2 | u8 nBlocks | u16 0 | u48 cumAck | u32 tsecr
 *         | u32 cePackets | u32 ceBytes | nBlocks × (u48 start, u48 end)
 *
 * `cumAck` is the next packet the receiver expects; SACK blocks are received
 * packets above it, end exclusive. `tsval` is the sender's clock in µs mod
 * 2^32, echoed as `tsecr` by the ACK for an RTT sample per ACK (retransmitted
 * packets included). `cePackets`/`ceBytes` count ECN-CE-marked packets and
 * their payload bytes since the start, mod 2^32, as QUIC's ECN counts.
 */
import { Slab } from './slab.js';

export const DATA_TYPE = 0xc1;
export const ACK_TYPE = 0xc2;
export const DATA_HEADER_BYTES = 14;
export const ACK_HEADER_BYTES = 22;
export const SACK_BLOCK_BYTES = 12;
/** Most SACK blocks one ACK carries. */
export const MAX_SACK_BLOCKS = 32;
export const FLAG_FIRST = 1;
export const FLAG_LAST = 2;
const TWO32 = 2 ** 32;

// Byte-wise, not through a DataView: a view per packet was a measurable share of framing.
function putU16(b: Uint8Array, off: number, n: number): void {
  b[off] = n >>> 8;
  b[off + 1] = n;
}

function putU32(b: Uint8Array, off: number, n: number): void {
  b[off] = n >>> 24;
  b[off + 1] = n >>> 16;
  b[off + 2] = n >>> 8;
  b[off + 3] = n;
}

function putU48(b: Uint8Array, off: number, n: number): void {
  putU16(b, off, Math.floor(n / TWO32));
  putU32(b, off + 2, n % TWO32);
}

function getU16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

function getU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

function getU48(b: Uint8Array, off: number): number {
  return getU16(b, off) * TWO32 + getU32(b, off + 2);
}

const slab = new Slab();

/** A DATA packet; its buffer is a view of a shared slab (see `Slab`). */
export function encodeData(seq: number, flags: number, tsval: number, payload: Uint8Array): Uint8Array {
  const out = slab.take(DATA_HEADER_BYTES + payload.byteLength);
  out[0] = DATA_TYPE;
  out[1] = flags;
  putU16(out, 2, payload.byteLength);
  putU48(out, 4, seq);
  putU32(out, 10, tsval >>> 0);
  out.set(payload, DATA_HEADER_BYTES);
  return out;
}

/** A DATA packet as fields: what `decodeData` returns, and what a frame sink gets unencoded. */
export interface DataFrame {
  readonly seq: number;
  readonly flags: number;
  readonly tsval: number;
  /** The payload: a view into the packet when decoded, the sender's own bytes when handed over as a frame. */
  readonly payload: Uint8Array;
}

/** Decodes a DATA packet, or returns undefined if it is malformed. */
export function decodeData(b: Uint8Array): DataFrame | undefined {
  if (b.byteLength < DATA_HEADER_BYTES || b[0] !== DATA_TYPE) return undefined;
  const flags = b[1]!;
  if (flags > (FLAG_FIRST | FLAG_LAST) || getU16(b, 2) !== b.byteLength - DATA_HEADER_BYTES) return undefined;
  return { seq: getU48(b, 4), flags, tsval: getU32(b, 10), payload: b.subarray(DATA_HEADER_BYTES) };
}

/** An ACK packet as fields; the counts are mod 2^32, as on the wire. */
export interface AckFrame {
  readonly cumAck: number;
  readonly tsecr: number;
  readonly cePackets: number;
  readonly ceBytes: number;
  /** Flattened [start, end) pairs. */
  readonly blocks: readonly number[];
}

/** Bytes `encodeData` makes of a frame. */
export function dataFrameBytes(f: DataFrame): number {
  return DATA_HEADER_BYTES + f.payload.byteLength;
}

/** Bytes `encodeAck` makes of a frame. */
export function ackFrameBytes(f: AckFrame): number {
  return ACK_HEADER_BYTES + (f.blocks.length / 2) * SACK_BLOCK_BYTES;
}

/**
 * Where a transport half sends its packets: a function taking them encoded
 * (a socket), or `{ frame }` taking each as its fields, never encoded. A
 * simulated link reads only a packet's size, and encoding copied every
 * payload: a fifth of a simulation's time, and most of its garbage. A frame
 * holds what decoding its bytes would give, the payload's content aside:
 * that is the sender's own (not a copy), so it must not be changed.
 */
export type PacketSink<F> = ((packet: Uint8Array) => void) | { readonly frame: (f: F) => void };

export function encodeAck(a: AckFrame): Uint8Array {
  const n = a.blocks.length / 2;
  const out = slab.take(ACK_HEADER_BYTES + n * SACK_BLOCK_BYTES);
  out[0] = ACK_TYPE;
  out[1] = n;
  putU16(out, 2, 0);
  putU48(out, 4, a.cumAck);
  putU32(out, 10, a.tsecr >>> 0);
  putU32(out, 14, a.cePackets % TWO32);
  putU32(out, 18, a.ceBytes % TWO32);
  let off = ACK_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    putU48(out, off, a.blocks[2 * i]!);
    putU48(out, off + 6, a.blocks[2 * i + 1]!);
    off += SACK_BLOCK_BYTES;
  }
  return out;
}

/** Decodes an ACK, or returns undefined if it is malformed (wrong length, empty or descending blocks). */
export function decodeAck(b: Uint8Array): AckFrame | undefined {
  if (b.byteLength < ACK_HEADER_BYTES || b[0] !== ACK_TYPE) return undefined;
  const n = b[1]!;
  if (n > MAX_SACK_BLOCKS || b.byteLength !== ACK_HEADER_BYTES + n * SACK_BLOCK_BYTES) return undefined;
  const cumAck = getU48(b, 4);
  const blocks: number[] = [];
  let off = ACK_HEADER_BYTES;
  for (let i = 0; i < n; i++) {
    const s = getU48(b, off);
    const e = getU48(b, off + 6);
    if (!(s > cumAck && e > s)) return undefined;
    blocks.push(s, e);
    off += SACK_BLOCK_BYTES;
  }
  return { cumAck, tsecr: getU32(b, 10), cePackets: getU32(b, 14), ceBytes: getU32(b, 18), blocks };
}
