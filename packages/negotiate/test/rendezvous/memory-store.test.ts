import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/rendezvous/memory-store.js';
import { storeComplianceSuite } from '@bertha/negotiate/testing';

// One in-process store is shared by every member, so each "process" gets the same instance.
storeComplianceSuite('memoryStore', (count, leaseMs) => {
  const store = memoryStore({ leaseMs });
  return Array.from({ length: count }, () => store);
});

describe('memoryStore', () => {
  it('expires leases by its injected clock', async () => {
    let now = 1_000;
    const store = memoryStore({ leaseMs: 100, clock: () => now });
    await store.tryInit('n', 'a', Uint8Array.of(1));
    await store.tryInit('n', 'b', Uint8Array.of(1));
    now += 60;
    await store.heartbeat('n', 'a');
    now += 60;
    expect((await store.heartbeat('n', 'a')).members).toEqual(['a']);
    now += 101;
    expect(await store.state('n')).toBeUndefined();
    await store.close();
  });
});
