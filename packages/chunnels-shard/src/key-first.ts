/**
 * keyFirst<T>(keyField): a MessagePack serializer that always writes the key
 * field first, as a short string, so the key's bytes sit at a fixed offset
 * (its `layout`). Any MessagePack decoder reads its output, and it declares
 * the same 'serialization' capability as core's `serialize()`; it also
 * supplies the layout capability a raw sharder requires.
 */
import { InvalidArgumentError, MappedConn, oneSided, type Capability, type Codec } from '@bertha/core';
import type { ChunnelWithConn } from '@bertha/core';
import { C1, Packr } from 'msgpackr';
import { KEY_LAYOUT_CAPABILITY, MSGPACK_CAPABILITY, keyFirstLayout, type KeyLayout } from './keys.js';

export type KeyFirstChunnel<T> = ChunnelWithConn<Uint8Array, T, 'serialize-key-first', MappedConn<Uint8Array, T>> & {
  readonly layout: KeyLayout;
};

export function keyFirst<T extends object>(keyField: string): KeyFirstChunnel<T> {
  const layout = keyFirstLayout(keyField);
  const packr = new Packr({ useRecords: false, structuredClone: false });
  const header = layout.offset - 1;
  const codec: Codec<Uint8Array, T> = {
    encode(msg) {
      const key = (msg as Record<string, unknown>)[keyField];
      if (typeof key !== 'string') throw new InvalidArgumentError(`keyFirst('${keyField}'): the message needs a string '${keyField}'`);
      let first: string | undefined;
      for (const k in msg) {
        first = k;
        break;
      }
      const bytes = packr.pack(first === keyField ? msg : { [keyField]: key, ...msg });
      // A key of more than 31 UTF-8 bytes takes a longer header, and what follows would move.
      if (bytes[0] !== layout.marker || ((bytes[header] as number) & 0xe0) !== 0xa0) {
        throw new InvalidArgumentError(`keyFirst('${keyField}'): keys are at most ${layout.maxKeyBytes} UTF-8 bytes, this one has ${Buffer.byteLength(key)}`);
      }
      return bytes;
    },
    decode(bytes) {
      const value: unknown = packr.unpack(bytes);
      if (value === C1) throw new Error('message is the reserved MessagePack byte 0xc1');
      return value as T;
    },
  };
  const capabilities: readonly Capability[] = [MSGPACK_CAPABILITY, oneSided(KEY_LAYOUT_CAPABILITY, [layout.id], layout.id)];
  return {
    name: 'serialize-key-first' as const,
    layout,
    capabilities: () => capabilities,
    connectWrap: async (inner) => new MappedConn(inner, codec),
  };
}
