import { describe, expectTypeOf, it } from 'vitest';
import { memNetwork, transport, type MemAddress, type PathAddress, type SocketAddress, type Transport } from '@bertha/core';

describe('transport(kind)', () => {
  it('types the address by kind', () => {
    expectTypeOf(transport('udp')).toEqualTypeOf<Transport<SocketAddress>>();
    expectTypeOf(transport('tcp', { maxFrameSize: 1024 })).toEqualTypeOf<Transport<SocketAddress>>();
    expectTypeOf(transport('unix')).toEqualTypeOf<Transport<PathAddress>>();
    expectTypeOf(transport('mem', memNetwork())).toEqualTypeOf<Transport<MemAddress>>();
  });

  it('takes only the options of that kind', () => {
    // @ts-expect-error -- a TCP option is not a UDP option
    transport('udp', { maxFrameSize: 1024 });
    // @ts-expect-error -- mem takes a network, not options
    transport('mem', { loss: 0.1 });
  });
});
