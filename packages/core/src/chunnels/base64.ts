/**
 * base64(): bytes above, base64 text below, for text-only queues.
 *
 * Wire format: each message is the standard (RFC 4648 §4) base64 text of the
 * bytes, with padding. Text that is not valid base64 is dropped and counted in
 * `stats.dropped` (Node's decoder would silently skip bad characters).
 */
import { twoSided, type Capability } from '../capability.js';
import { MappedConn, type Codec } from '../conn/map-conn.js';
import { DecodeError } from '../errors.js';
import type { ChunnelWithConn } from './chunnel-with-conn.js';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const codec: Codec<string, Uint8Array> = {
  encode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  decode: (text) => {
    if (!BASE64.test(text)) throw new DecodeError('message is not valid base64 text');
    return Buffer.from(text, 'base64');
  },
};

const capabilities: readonly Capability[] = [twoSided('encoding', 'base64')];

export type Base64Chunnel = ChunnelWithConn<string, Uint8Array, 'base64', MappedConn<string, Uint8Array>>;

export function base64(): Base64Chunnel {
  return {
    name: 'base64' as const,
    capabilities: () => capabilities,
    connectWrap: async (inner) => new MappedConn(inner, codec),
  };
}
