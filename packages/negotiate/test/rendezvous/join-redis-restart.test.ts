import { randomUUID } from 'node:crypto';
import { makeStack, select, serialize } from '@bertha/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../../../scripts/servers/redis.js';
import { redisStore } from '@bertha/negotiate/redis';
import { join, type Joined } from '../../src/rendezvous/join.js';
import { memoryStore } from '../../src/rendezvous/memory-store.js';
import { numPeersAtMost, type Policy } from '../../src/rendezvous/policy.js';
import { StoreUnavailableError, type RendezvousStore } from '../../src/rendezvous/store.js';
import { Bus, collect, failure, picked, tag, until } from './join-helpers.js';

const LEASE_MS = 400;
/** The store-loss tests bound a join by two leases: a longer lease leaves room for a loaded machine. */
const LOSS_LEASE_MS = 1_000;
const stack = () => makeStack(serialize<number>(), select(tag('tag-a'), tag('tag-b')));
const policy = numPeersAtMost(1, { then: 'tag-a', otherwise: 'tag-b' });

/** A private Redis for the enclosing describe, stores on it that fail fast, and what the tests joined (left afterwards). */
function ownRedis(leaseMs = LEASE_MS) {
  let redis: RedisServer | undefined;
  const stores: RendezvousStore[] = [];
  const joined: Array<Joined<number>> = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const j of joined) await j.handle.leave().catch(() => undefined);
    for (const s of stores) await s.close();
    await redis?.stop();
  });
  const server = () => {
    if (redis === undefined) throw new Error('the Redis server is not running');
    return redis;
  };
  const newStore = () => {
    const s = redisStore(server().url, { leaseMs, readyTimeoutMs: 300, commandTimeoutMs: 300 });
    stores.push(s);
    return s;
  };
  return { server, newStore, joined };
}

describe('join while Redis goes away and comes back', () => {
  const { server, newStore, joined } = ownRedis();

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

    await server().stop();
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

    await server().restart();
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

// tag-b for up to three participants, tag-a from four: members registering again one by one
// after a loss cause no transition; a fourth join does.
const upToThree: Policy = (n) => (n <= 3 ? 'tag-b' : 'tag-a');

/**
 * Three members switch there and back (rounds 1 and 3 of the store's
 * generation: each remembers answering or committing them); the store then
 * loses its state by `lose()` and the members register again; a fourth joins,
 * which needs round 1 again, of the new generation (`newGeneration`; else the
 * store keeps its generation and counts on). Resolves with how long that join
 * and everyone's switch took.
 */
async function fourthJoinAfterLoss(
  newStore: () => RendezvousStore,
  lose: () => Promise<void>,
  newGeneration: boolean,
  joined: Array<Joined<number>>,
): Promise<number> {
  const name = `rv-${randomUUID()}`;
  const bus = new Bus();
  const members: Array<Joined<number>> = [];
  for (const member of ['a', 'b', 'c']) {
    const j = await join(stack(), { name, base: bus.open(), store: newStore(), policy: upToThree, member });
    members.push(j);
    joined.push(j);
  }
  await until(() => members.every((j) => j.handle.participants === 3 && picked(j.handle, 'tag-b')), 'a, b and c on tag-b');
  await members[0]!.handle.prefer('tag-a');
  await members[0]!.handle.prefer('tag-b');
  await until(() => members.every((j) => picked(j.handle, 'tag-b')), 'a, b and c back on tag-b');
  const watcher = newStore();
  const before = await watcher.state(name);
  await lose();
  await until(async () => {
    const state = await watcher.state(name).catch(() => undefined);
    return state !== undefined && (state.generation !== before?.generation) === newGeneration && state.participants === 3;
  }, 'a, b and c registered again');

  const started = Date.now();
  const joining = join(stack(), { name, base: bus.open(), store: newStore(), policy: upToThree, member: 'd' });
  const hung = new Promise<string>((resolve) => setTimeout(() => resolve('join still pending after 5 s'), 5_000).unref());
  const d = await Promise.race([joining, hung]);
  if (typeof d === 'string') throw new Error(d);
  joined.push(d);
  members.push(d);
  await until(() => members.every((j) => picked(j.handle, 'tag-a')), 'all four on tag-a');
  const took = Date.now() - started;
  const atD: number[] = [];
  void collect(d.conn, atD);
  await members[0]!.conn.send(7);
  await until(() => atD.includes(7), 'd receiving from a');
  return took;
}

describe.each(['restart', 'flush'] as const)('join after Redis lost its state (%s)', (how) => {
  const { server, newStore, joined } = ownRedis(LOSS_LEASE_MS);

  it('starts a new generation, and a join that causes a transition completes within two leases', async () => {
    const lose = async () => {
      if (how === 'restart') {
        await server().restart();
        return;
      }
      const raw = new Redis(server().url);
      await raw.flushall();
      raw.disconnect();
    };
    expect(await fourthJoinAfterLoss(newStore, lose, true, joined)).toBeLessThan(2 * LOSS_LEASE_MS);
  });
});

describe('join on the embedded store after every lease lapsed at once', () => {
  const joined: Array<Joined<number>> = [];
  afterAll(async () => {
    for (const j of joined) await j.handle.leave().catch(() => undefined);
  });

  // The embedded store cannot lose its state while the process lives; the nearest case is a
  // stall of every member (a clock jump past the lease): it forgets them all, keeps its generation.
  it('keeps its generation, and a join that causes a transition completes within two leases', async () => {
    let skew = 0;
    const store = memoryStore({ leaseMs: LOSS_LEASE_MS, clock: () => Date.now() + skew });
    const lose = async () => {
      skew += 2 * LOSS_LEASE_MS;
    };
    expect(await fourthJoinAfterLoss(() => store, lose, false, joined)).toBeLessThan(2 * LOSS_LEASE_MS);
  });
});

describe('a transition staged when Redis is flushed', () => {
  const { server, newStore, joined } = ownRedis();

  it('ends with TransitionRefusedError (lost), and the group can change again in the new generation', async () => {
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const a = await join(stack(), { name, base: bus.open(), store: newStore(), member: 'a' });
    // b takes a while to build tag-b, so the change stays staged for a moment.
    const b = await join(makeStack(serialize<number>(), select(tag('tag-a'), tag('tag-b', 300))), { name, base: bus.open(), store: newStore(), member: 'b' });
    joined.push(a, b);
    const watcher = newStore();
    const before = await watcher.state(name);
    const switching = failure(a.handle.prefer('tag-b'));
    await until(async () => (await watcher.state(name))?.pending !== undefined, 'the change staged');
    const raw = new Redis(server().url);
    await raw.flushall();
    raw.disconnect();
    expect(await switching).toMatchObject({ code: 'ERR_TRANSITION_REFUSED', reason: 'lost', by: 'a' });
    expect(a.handle.pick).toEqual(['serialize', 'tag-a']);

    await until(async () => {
      const state = await watcher.state(name);
      return state !== undefined && state.generation !== before?.generation && state.participants === 2;
    }, 'a and b registered again');
    await a.handle.prefer('tag-b');
    await until(() => picked(b.handle, 'tag-b'), 'b on tag-b');
  });
});
