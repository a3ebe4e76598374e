import { DecodeError, MappedConn, type Capability, type Chunnel, type Conn, type PickedInfo } from '@bertha/core';
import type { NegotiatedListener } from '@bertha/negotiate';

/**
 * A byte Chunnel that appends its own marker byte on the way down and
 * checks it on the way up, so two ends running different stacks garble
 * (and drop) each other's messages instead of passing by luck.
 */
export function layer<const N extends string>(name: N, caps: Capability[] = [], picked?: PickedInfo[]): Chunnel<Uint8Array, Uint8Array, N> {
  const marker = [...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) & 0xff, 7);
  return {
    name,
    capabilities: () => caps,
    connectWrap: async (inner: Conn<Uint8Array>) =>
      new MappedConn(inner, {
        encode: (m: Uint8Array) => {
          const out = new Uint8Array(m.byteLength + 1);
          out.set(m);
          out[m.byteLength] = marker;
          return out;
        },
        decode: (m: Uint8Array) => {
          if (m[m.byteLength - 1] !== marker) throw new DecodeError(`not a ${name} message`);
          return m.subarray(0, m.byteLength - 1);
        },
      }),
    ...(picked ? { picked: (info: PickedInfo) => void picked.push(info) } : {}),
  };
}

/** Strings above, UTF-8 below: makes the stack's top type `string`. */
export function text(): Chunnel<Uint8Array, string, 'text'> {
  return {
    name: 'text',
    capabilities: () => [],
    connectWrap: async (inner: Conn<Uint8Array>) =>
      new MappedConn(inner, { encode: (s: string) => new TextEncoder().encode(s), decode: (b: Uint8Array) => new TextDecoder().decode(b) }),
  };
}

/** Echoes every message of every accepted connection until the listener closes. */
export function echo<D>(listener: NegotiatedListener<D, unknown>): Promise<void> {
  return (async () => {
    for await (const conn of listener) {
      void (async () => {
        try {
          for await (const m of conn) await conn.send(m);
        } catch {
          // The connection went away mid-echo: nothing to do.
        }
      })();
    }
  })();
}

export async function recvWithin<D>(conn: Conn<D>, ms = 2000): Promise<D> {
  return conn.recv({ signal: AbortSignal.timeout(ms) });
}
