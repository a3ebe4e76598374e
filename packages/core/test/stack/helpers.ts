import { MappedConn, type Capability, type Chunnel, type Conn } from '@bertha/core';

/** A pass-through Chunnel with a given name and capabilities that records wrap order. */
export function fake<const N extends string>(name: N, caps: Capability[] = [], log?: string[]): Chunnel<Uint8Array, Uint8Array, N> {
  return {
    name,
    capabilities: () => caps,
    connectWrap: async (inner: Conn<Uint8Array>) => {
      log?.push(name);
      return new MappedConn(inner, {
        encode: (m: Uint8Array) => Uint8Array.of(...m, name.length),
        decode: (m: Uint8Array) => m.subarray(0, m.length - 1),
      });
    },
  };
}
