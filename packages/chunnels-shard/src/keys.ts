/**
 * How a sharder finds the key in a serialized message.
 *
 * - `decodeKey(field)` deserializes the whole MessagePack message and reads
 *   `field`: works for any MessagePack map, costs a full decode.
 * - `rawKey(layout)` reads the key bytes at the fixed offset of a
 *   `KeyLayout`, without deserializing. Safe only when every message was
 *   written by the serializer the layout was derived from, which is what its
 *   capability makes negotiation prove.
 */
import { oneSided, twoSided, type Capability } from '@bertha/core';
import { Packr } from 'msgpackr';
import { shardOfBytes, shardOfString } from './fnv.js';

export interface KeyReader {
  readonly kind: 'decode' | 'raw';
  readonly keyField: string;
  /** What a stack using this reader needs from the peer's stack (its serializer). */
  readonly capabilities: readonly Capability[];
  /** The shard of a serialized message, or -1 when the message has no key this reader can find. */
  shard(msg: Uint8Array, shards: number): number;
}

/** Capability type of a fixed key layout: one-sided, supplied by the serializer that writes it. */
export const KEY_LAYOUT_CAPABILITY = 'shard-key-layout';
/** The serialization both ends must share for a decoding sharder: core's `serialize()` declares the same. */
export const MSGPACK_CAPABILITY = twoSided('serialization', 'msgpack');

/** Deserializes each message (MessagePack) and reads its key field: the general, slower sharder. */
export function decodeKey(keyField: string): KeyReader {
  const packr = new Packr({ useRecords: false, structuredClone: false });
  return {
    kind: 'decode',
    keyField,
    capabilities: [MSGPACK_CAPABILITY],
    shard(msg, shards) {
      let value: unknown;
      try {
        value = packr.unpack(msg);
      } catch {
        return -1;
      }
      if (typeof value !== 'object' || value === null) return -1;
      const key = (value as Record<string, unknown>)[keyField];
      if (typeof key === 'string') return shardOfString(key, shards);
      if (key instanceof Uint8Array) return shardOfBytes(key, shards);
      return -1;
    },
  };
}

/**
 * Where the key sits in messages of one serializer: byte 0 is `marker` (the
 * map header's type), bytes `[prefixAt, offset - 1)` are `prefix` (the key
 * field's name), byte `offset - 1` is the key's fixstr header and the key
 * starts at `offset`. The map header's count bytes, between them, vary with
 * the number of fields and are not checked.
 */
export interface KeyLayout {
  /** Names the serializer and the offset; the label of the layout capability. */
  readonly id: string;
  readonly keyField: string;
  readonly offset: number;
  readonly marker: number;
  readonly prefixAt: number;
  readonly prefix: Uint8Array;
  /** Longest key this layout carries at the fixed offset. */
  readonly maxKeyBytes: number;
}

/** MessagePack: a fixstr is 0xa0–0xbf with its length in the low 5 bits. */
const FIXSTR = 0xa0;
const FIXSTR_MAX = 31;
/** Length of a map header by its first byte: fixmap, map16, map32. */
function mapHeaderLength(b: number): number {
  if ((b & 0xf0) === 0x80) return 1;
  if (b === 0xde) return 3;
  if (b === 0xdf) return 5;
  return -1;
}

/** Reads the key at the layout's offset; checks the bytes around it so a foreign message is refused, not misrouted. */
export function rawKey(layout: KeyLayout): KeyReader {
  const { offset, prefix, prefixAt, marker } = layout;
  const header = offset - 1;
  return {
    kind: 'raw',
    keyField: layout.keyField,
    capabilities: [MSGPACK_CAPABILITY, oneSided(KEY_LAYOUT_CAPABILITY, [layout.id])],
    shard(msg, shards) {
      if (msg.length <= header || msg[0] !== marker) return -1;
      for (let i = 0; i < prefix.length; i++) if (msg[prefixAt + i] !== prefix[i]) return -1;
      const h = msg[header] as number;
      if ((h & 0xe0) !== FIXSTR) return -1;
      const end = offset + (h & 0x1f);
      if (end > msg.length) return -1;
      return shardOfBytes(msg, shards, offset, end);
    },
  };
}

/**
 * The layout of `keyFirst(keyField)`, derived from the real encoder: a probe
 * message is encoded and its key's bytes are looked for, so the offset is
 * what the encoder does (msgpackr writes every map with a 3-byte map16
 * header, for one), not what someone believes it does.
 */
export function keyFirstLayout(keyField: string): KeyLayout {
  const packr = new Packr({ useRecords: false, structuredClone: false });
  const probe = '\u0001\u0002\u0003';
  const bytes = packr.pack({ [keyField]: probe, v: 0 });
  const marker = Uint8Array.of(FIXSTR | probe.length, 1, 2, 3);
  let at = -1;
  for (let i = 0; i + marker.length <= bytes.length && at < 0; i++) if (marker.every((b, k) => bytes[i + k] === b)) at = i;
  const prefixAt = mapHeaderLength(bytes[0] as number);
  if (prefixAt < 0 || at < prefixAt) throw new Error(`keyFirstLayout: the encoder did not write '${keyField}' first in a map`);
  const offset = at + 1;
  return {
    id: `msgpack map, '${keyField}' first, a str of up to ${FIXSTR_MAX} bytes at byte ${offset}`,
    keyField,
    offset,
    marker: bytes[0] as number,
    prefixAt,
    prefix: bytes.slice(prefixAt, at),
    maxKeyBytes: FIXSTR_MAX,
  };
}
