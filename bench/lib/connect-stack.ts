/** The stack `bench connect` negotiates and `bench rendezvous` agrees on: one select of two pass-through Chunnels. */
import { makeStack, select, twoSided, type Chunnel } from '@bertha/core';

/** A pass-through Chunnel that declares a capability, so negotiation has something to decide. */
function passThrough<const N extends string>(name: N, label: string): Chunnel<Uint8Array, Uint8Array, N> {
  return { name, capabilities: () => [twoSided('encryption', label)], connectWrap: async (inner) => inner };
}

export const connectStack = makeStack(select(passThrough('plain', 'none'), passThrough('tls', 'tls')));
