import { randomUUID } from 'node:crypto';
import { makeStack, select, serialize } from '@bertha/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../../scripts/servers/redis.js';
import { redisStore } from '@bertha/negotiate/redis';
import { join, type Joined } from '../../src/rendezvous/join.js';
import { numPeersAtMost } from '../../src/rendezvous/policy.js';
import { StoreUnavailableError, type RendezvousStore } from '../../src/rendezvous/store.js';
import { Bus, collect, picked, tag, until } from './join-helpers.js';

const LEASE_MS = 400;
const stack = () => makeStack(serialize<number>(), select(tag('tag-a'), tag('tag-b')));
const policy = numPeersAtMost(1, { then: 'tag-a', otherwise: 'tag-b' });

describe('join while Redis goes away and comes back', () => {
  let redis: RedisServer;
  const stores: RendezvousStore[] = [];
  const joined: Array<Joined<number>> = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const j of joined) await j.handle.leave().catch(() => undefined);
    for (const s of stores) await s.close();
    await redis.stop();
  });
  const newStore = () => {
    const s = redisStore(redis.url, { leaseMs: LEASE_MS, readyTimeoutMs: 300, commandTimeoutMs: 300 });
    stores.push(s);
    return s;
  };

  it('keeps members exchanging on their stack, fails new joiners fast, and rejoins after the restart', async () => {
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const a = await join(stack(), { name, base: bus.open(), store: newStore(), policy, member: 'a' });
    const b = await join(stack(), { name, base: bus.open(), store: newStore(), policy, member: 'b' });
    joined.push(a, b);
    await until(() => picked(a.handle, 'tag-b') && picked(b.handle, 'tag-b'), 'both on tag-b');
    const errors: Error[] = [];
    a.handle.on('error', (e) => errors.push(e));
    const atB: number[] = [];
    void collect(b.conn, atB);

    await redis.stop();
    for (let n = 0; n < 20; n++) {
      await a.conn.send(n);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => atB.length === 20, 'b receiving while Redis is down');
    await until(() => errors.length > 0, 'a reporting the store error');
    expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
    expect(a.handle.pick).toEqual(['serialize', 'tag-b']);

    const err = await join(stack(), { name, base: bus.open(), store: newStore(), member: 'c' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);

    await redis.restart();
    // The members register again with the pick they run.
    const watcher = newStore();
    for (let i = 0; ; i++) {
      const state = await watcher.state(name).catch(() => undefined);
      if (state?.participants === 2) break;
      if (i > 200) throw new Error('members did not register again');
      await new Promise((r) => setTimeout(r, 20));
    }
    const c = await join(stack(), { name, base: bus.open(), store: newStore(), policy, member: 'c' });
    joined.push(c);
    expect(c.handle.pick).toEqual(['serialize', 'tag-b']);
    await until(() => a.handle.participants === 3, 'a counting 3');
    await c.conn.send(99);
    await until(() => atB.includes(99), 'b receiving from c');
  });
});
