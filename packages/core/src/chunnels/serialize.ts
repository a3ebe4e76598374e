/**
 * serialize<T>(): application values above, MessagePack bytes below.
 *
 * Wire format: each message is exactly one MessagePack value (msgpackr), with
 * records and structured cloning off by default so any MessagePack decoder
 * can read it. Bytes that do not decode (or that `validate` rejects) are
 * dropped and counted in `stats.dropped`.
 */
import { C1, Packr, type Options as MsgpackOptions } from 'msgpackr';
import { twoSided, type Capability } from '../capability.js';
import { MappedConn, type Codec } from '../conn/map-conn.js';
import { DecodeError } from '../errors.js';
import type { ChunnelWithConn } from './chunnel-with-conn.js';

export type { MsgpackOptions };

export interface SerializeOptions<T> {
  /** msgpackr options; both ends must use compatible ones. */
  readonly msgpack?: MsgpackOptions;
  /** Checks a decoded value; values it rejects are dropped and counted like undecodable bytes. */
  readonly validate?: (value: unknown) => value is T;
}

export type SerializeChunnel<T> = ChunnelWithConn<Uint8Array, T, 'serialize', MappedConn<Uint8Array, T>>;

export function serialize<T>(opts: SerializeOptions<T> = {}): SerializeChunnel<T> {
  const packr = new Packr({ useRecords: false, structuredClone: false, ...opts.msgpack });
  const { validate } = opts;
  const codec: Codec<Uint8Array, T> = {
    encode: (msg) => packr.pack(msg),
    decode: (bytes) => {
      const value: unknown = packr.unpack(bytes);
      // msgpackr returns a marker instead of throwing for the reserved byte 0xc1.
      if (value === C1) throw new DecodeError('message is the reserved MessagePack byte 0xc1');
      if (validate !== undefined && !validate(value)) throw new DecodeError('decoded message failed validation');
      return value as T;
    },
  };
  const capabilities: readonly Capability[] = [twoSided('serialization', 'msgpack')];
  return {
    name: 'serialize' as const,
    capabilities: () => capabilities,
    connectWrap: async (inner) => new MappedConn(inner, codec),
  };
}
