import { randomUUID } from 'node:crypto';
import { makeStack, select, serialize } from '@bertha/core';
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { redisStore } from '@bertha/negotiate/redis';
import { eventLog, storeComplianceSuite } from '@bertha/negotiate/testing';
import { join, type Joined } from '../../src/rendezvous/join.js';
import { numPeersAtMost } from '../../src/rendezvous/policy.js';
import { rendezvousKey } from '../../src/rendezvous/redis-keys.js';
import { Bus, collect, picked, tag, until } from './join-helpers.js';

const nodes = inject('redisClusterNodes').map((n) => {
  const [host, port] = n.split(':');
  return { host: host!, port: Number(port) };
});

// Separate stores (each its own cluster client) stand for separate processes.
storeComplianceSuite('redisStore on Redis Cluster', (count, leaseMs) => Array.from({ length: count }, () => redisStore({ cluster: nodes }, { leaseMs })));

describe('redisStore on Redis Cluster', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });
  const newStore = (leaseMs = 1_000) => {
    const s = redisStore({ cluster: nodes }, { leaseMs });
    cleanup.push(() => s.close());
    return s;
  };

  it('accepts a Cluster client, spreads groups over the masters, and hears changes from the slot owner', async () => {
    const client = new Cluster(nodes);
    cleanup.push(async () => client.disconnect());
    const store = redisStore(client);
    cleanup.push(() => store.close());
    const other = newStore();
    const names = Array.from({ length: 12 }, (_, i) => `rv-spread-${i}-${randomUUID()}`);
    const logs = names.map(() => eventLog());
    for (const [i, n] of names.entries()) expect((await store.subscribe(n, logs[i]!.listener)).mode).toBe('push');
    for (const n of names) await other.tryInit(n, 'x', Uint8Array.of(1));
    for (const log of logs) expect((await log.next((e) => e.type === 'joined')).event).toEqual({ type: 'joined', member: 'x' });
    // Each group's keys sit in its own slot; twelve groups land on more than one master.
    const masters = new Set<string>();
    for (const n of names) {
      const slot = Number(await client.cluster('KEYSLOT', `${rendezvousKey(n)}:round`));
      expect(Number(await client.cluster('KEYSLOT', `${rendezvousKey(n)}:members`))).toBe(slot);
      const owner = (client.slots[slot] ?? [])[0];
      expect(owner).toBeDefined();
      masters.add(owner!);
    }
    expect(masters.size).toBeGreaterThan(1);
    for (const n of names) await other.leave(n, 'x');
  });

  it('runs a three-member transition: each member joins, the policy switches all three, a leave switches back', async () => {
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const stack = () => makeStack(serialize<number>(), select(tag('tag-a'), tag('tag-b')));
    // One stack while at most two are live, the other from three on.
    const policy = numPeersAtMost(2, { then: 'tag-a', otherwise: 'tag-b' });
    const joined: Array<Joined<number>> = [];
    for (const member of ['a', 'b', 'c']) {
      const j = await join(stack(), { name, base: bus.open(), store: newStore(), policy, member });
      joined.push(j);
      cleanup.push(() => j.handle.leave());
    }
    const [a, b, c] = joined as [Joined<number>, Joined<number>, Joined<number>];
    await until(() => [a, b, c].every((j) => picked(j.handle, 'tag-b')), 'all three on tag-b', 10_000);
    const atC: number[] = [];
    void collect(c.conn, atC);
    for (let n = 0; n < 10; n++) await a.conn.send(n);
    await until(() => atC.length === 10, 'c receiving on the switched stack');
    await b.handle.leave();
    await until(() => picked(a.handle, 'tag-a') && picked(c.handle, 'tag-a'), 'a and c back on tag-a', 10_000);
    expect(a.handle.participants).toBe(2);
  });

  it('runs its scripts on masters that forgot them (a promoted replica that never loaded them), each once', async () => {
    const store = newStore(10_000);
    const each = nodes.map((node) => new Redis(node));
    cleanup.push(async () => each.forEach((r) => r.disconnect()));
    const n = `rv-noscript-${randomUUID()}`;
    const { generation } = await store.tryInit(n, 'a', Uint8Array.of(1));
    const flush = () => Promise.all(each.map((r) => r.script('FLUSH')));
    await flush();
    expect(await store.startTransition(n, 'a', Uint8Array.of(2))).toMatchObject({ kind: 'committer', round: 1 });
    await flush();
    expect(await store.commitIfReady(n, 'a', { generation, round: 1 })).toEqual({ kind: 'committed', round: 2, pick: Uint8Array.of(2) });
    expect(await store.state(n)).toMatchObject({ generation, round: 2, pick: Uint8Array.of(2), participants: 1 });
  });
});
