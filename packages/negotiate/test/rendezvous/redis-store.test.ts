import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../../scripts/servers/redis.js';
import { redisStore } from '@bertha/negotiate/redis';
import { NotAMemberError, RoundError, StoreUnavailableError, type RendezvousStore } from '../../src/rendezvous/store.js';
import { INIT } from '../../src/rendezvous/redis-lua.js';
import { rendezvousKey } from '../../src/rendezvous/redis-keys.js';
import { eventLog, storeComplianceSuite } from '@bertha/negotiate/testing';
import { until } from './join-helpers.js';

const redisUrl = inject('redisUrl');
const pick = Uint8Array.of(0x00, 0xff);

// Separate stores (and so separate Redis connections) stand for separate processes.
storeComplianceSuite('redisStore', (count, leaseMs) => Array.from({ length: count }, () => redisStore(redisUrl, { leaseMs })));

describe('redisStore', () => {
  it('hears changes made elsewhere on the events channel, and nothing for a renewal', async () => {
    const watcher = redisStore(redisUrl);
    const other = redisStore(redisUrl);
    const log = eventLog();
    const sub = await watcher.subscribe('rv-events', log.listener);
    // Push mode polls nothing: the event can only come from a published change.
    expect(sub.mode).toBe('push');
    const raw = new Redis(redisUrl);
    const heard: string[] = [];
    raw.on('smessage', (_channel: string, message: string) => heard.push(message));
    await raw.ssubscribe(`${rendezvousKey('rv-events')}:events`);
    const { generation } = await other.tryInit('rv-events', 'x', pick);
    expect((await log.next((e) => e.type === 'joined')).event).toEqual({ type: 'joined', member: 'x' });
    for (let i = 0; i < 3; i++) await other.heartbeat('rv-events', 'x');
    await other.leave('rv-events', 'x');
    await log.next((e) => e.type === 'left');
    // The join and the departure, not the three renewals; no server configuration needed.
    expect(heard).toEqual([`${generation}:1`, `${generation}:2`]);
    raw.disconnect();
    await Promise.all([sub.unsubscribe(), watcher.close(), other.close()]);
  });

  it('announces a staged change and the answer that completes it, not every answer', async () => {
    const [a, b, c, d] = Array.from({ length: 4 }, () => redisStore(redisUrl));
    const n = `rv-quiet-${randomUUID()}`;
    const raw = new Redis(redisUrl);
    const heard: string[] = [];
    raw.on('smessage', (_channel: string, message: string) => heard.push(message));
    await raw.ssubscribe(`${rendezvousKey(n)}:events`);
    try {
      const { generation } = await a!.tryInit(n, 'a', pick);
      for (const [s, m] of [[b!, 'b'], [c!, 'c'], [d!, 'd']] as const) await s.tryInit(n, m, pick);
      await a!.startTransition(n, 'a', Uint8Array.of(2));
      const ref = { generation, round: 1 };
      for (const [s, m] of [[b!, 'b'], [c!, 'c'], [d!, 'd']] as const) await s.stageAck(n, m, ref, true);
      expect(await a!.commitIfReady(n, 'a', ref)).toMatchObject({ kind: 'committed' });
      await until(() => heard.length >= 7, 'the commit announced');
      // Changes 1-4 joins, 5 staged, 6-8 answers (only the last told), 9 the commit.
      expect(heard).toEqual([1, 2, 3, 4, 5, 8, 9].map((seq) => `${generation}:${seq}`));
    } finally {
      raw.disconnect();
      await Promise.all([a, b, c, d].map((s) => s!.close()));
    }
  });

  it('runs its scripts on a server that forgot them (a promoted replica that never loaded them), each once', async () => {
    const store = redisStore(redisUrl);
    const raw = new Redis(redisUrl);
    const n = `rv-noscript-${randomUUID()}`;
    try {
      const { generation } = await store.tryInit(n, 'a', pick);
      // EVALSHA meets NOSCRIPT, which means the script did not run: ioredis sends it whole (EVAL), once.
      await raw.script('FLUSH');
      expect(await store.startTransition(n, 'a', Uint8Array.of(2))).toMatchObject({ kind: 'committer', round: 1 });
      await raw.script('FLUSH');
      expect(await store.commitIfReady(n, 'a', { generation, round: 1 })).toEqual({ kind: 'committed', round: 2, pick: Uint8Array.of(2) });
      expect(await store.state(n)).toMatchObject({ generation, round: 2, pick: Uint8Array.of(2), participants: 1 });
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('keeps every key of a rendezvous in its own namespace, even for names that look like suffixes', async () => {
    const store = redisStore(redisUrl);
    const raw = new Redis(redisUrl);
    try {
      // With `-` separators, group `a-1` and round 1 of group `a` shared keys; braces and `%` must be escaped too.
      const p = `rv${randomUUID().slice(0, 8)}`;
      const names = [p, `${p}-1`, `${p}:1`, `${p}}:1`, `}${p}`, `{${p}}`, `${p}%7D:1`, `${p}:pick`];
      for (const [i, n] of names.entries()) {
        const { generation } = await store.tryInit(n, 'm', Uint8Array.of(i));
        await store.startTransition(n, 'm', Uint8Array.of(100 + i));
        expect(await store.commitIfReady(n, 'm', { generation, round: 1 })).toMatchObject({ kind: 'committed' });
      }
      for (const [i, n] of names.entries()) expect(await store.state(n)).toMatchObject({ pick: Uint8Array.of(100 + i), participants: 1, round: 2 });
      const bases = names.map(rendezvousKey);
      expect(new Set(bases).size).toBe(names.length);
      // Every key lives under exactly one base (so in one slot): no key of one group extends another's base.
      const keys = await raw.keys(`bertha:rv:*${p}*`);
      expect(keys.length).toBeGreaterThanOrEqual(names.length * 3);
      for (const key of keys) expect(bases.filter((b) => key.startsWith(`${b}:`))).toHaveLength(1);
      for (const b of bases) expect(b.match(/\{([^}]*)\}/)?.[1]?.length).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('detects writes the store lost (a replica promoted without them) and starts a new generation', async () => {
    const [a, b, c] = [redisStore(redisUrl), redisStore(redisUrl), redisStore(redisUrl)];
    const raw = new Redis(redisUrl);
    const n = `rv-lost-${randomUUID()}`;
    try {
      const { generation } = await a.tryInit(n, 'a', Uint8Array.of(1));
      await b.tryInit(n, 'b', Uint8Array.of(1));
      // What a replica held when its master died: the state before the transition.
      const keys = await raw.keys(`${rendezvousKey(n)}:*`);
      const dumps = await Promise.all(keys.map((k) => raw.dumpBuffer(k)));
      await a.startTransition(n, 'a', Uint8Array.of(2));
      await b.stageAck(n, 'b', { generation, round: 1 }, true);
      expect(await a.commitIfReady(n, 'a', { generation, round: 1 })).toMatchObject({ kind: 'committed' });
      await raw.del(...(await raw.keys(`${rendezvousKey(n)}:*`)));
      for (const [i, k] of keys.entries()) await raw.restore(k, 0, dumps[i]!);
      // Meanwhile a member that never saw the lost changes makes as many of its own: the counts match, the changes do not.
      await c.tryInit(n, 'c', Uint8Array.of(1));
      await c.leave(n, 'c');
      expect((await c.tryInit(n, 'c', Uint8Array.of(1))).generation).toBe(generation);
      // a saw the commit: the store cannot hold it, so it starts over in a new generation.
      await expect(a.heartbeat(n, 'a')).rejects.toBeInstanceOf(NotAMemberError);
      const again = await a.tryInit(n, 'a', Uint8Array.of(2));
      expect(again.generation).not.toBe(generation);
      expect(again).toMatchObject({ kind: 'created', round: 0, pick: Uint8Array.of(2), participants: 1 });
      await expect(b.commitIfReady(n, 'b', { generation, round: 1 })).rejects.toBeInstanceOf(NotAMemberError);
      expect((await b.tryInit(n, 'b', Uint8Array.of(1))).generation).toBe(again.generation);
    } finally {
      raw.disconnect();
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('hears changes through a client with a key prefix', async () => {
    const [c1, c2] = [new Redis(redisUrl, { keyPrefix: 'app:' }), new Redis(redisUrl, { keyPrefix: 'app:' })];
    const [watcher, other] = [redisStore(c1), redisStore(c2)];
    try {
      const log = eventLog();
      expect((await watcher.subscribe('rv-prefixed', log.listener)).mode).toBe('push');
      await other.tryInit('rv-prefixed', 'x', pick);
      expect((await log.next((e) => e.type === 'joined')).event).toEqual({ type: 'joined', member: 'x' });
      expect(await c1.exists(`${rendezvousKey('rv-prefixed')}:round`)).toBe(1);
      await other.leave('rv-prefixed', 'x');
    } finally {
      await Promise.all([watcher.close(), other.close()]);
      c1.disconnect();
      c2.disconnect();
    }
  });

  it('polls when notifications are off', async () => {
    const watcher = redisStore(redisUrl, { notifications: 'off', pollIntervalMs: 20 });
    const log = eventLog();
    const sub = await watcher.subscribe('rv-poll', log.listener);
    expect(sub.mode).toBe('poll');
    await watcher.tryInit('rv-poll', 'y', pick);
    expect((await log.next((e) => e.type === 'joined')).event).toEqual({ type: 'joined', member: 'y' });
    await watcher.leave('rv-poll', 'y');
    await watcher.close();
  });

  describe('while Redis stalls', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(() => server.stop());

    it('re-reads the state again when the read after a notification failed', async () => {
      const watcher = redisStore(server.url, { commandTimeoutMs: 100, pollIntervalMs: 20 });
      const raw = new Redis(server.url);
      try {
        const log = eventLog();
        await watcher.subscribe('rv-stall', log.listener);
        // Replies come in order: once this one is in, the watcher's own first read is done too.
        await watcher.state('rv-stall');
        // One round trip: the change (one notification), then a pause of scripts that makes the
        // watcher's re-read time out while its connections stay up. No other notification follows.
        await raw.pipeline().eval(INIT, 1, rendezvousKey('rv-stall'), '', 0, '', 'g1', '', 'x', Buffer.from(pick), 10_000).client('PAUSE', '400', 'WRITE').exec();
        const missed = new Promise<string>((resolve) => setTimeout(() => resolve('no event 3 s after the stall'), 3_000).unref());
        const first = await Promise.race([log.next((e) => e.type === 'joined').then((s) => s.event), missed]);
        expect(first).toEqual({ type: 'joined', member: 'x' });
      } finally {
        raw.disconnect();
        await watcher.close();
      }
    });
  });

  describe('while Redis goes down and comes back', () => {
    let server: RedisServer;
    let store: RendezvousStore;
    let other: RendezvousStore;
    beforeAll(async () => {
      server = await startRedis();
      store = redisStore(server.url);
      other = redisStore(server.url);
    });
    afterAll(async () => {
      await Promise.all([store.close(), other.close()]);
      await server.stop();
    });

    it('rejects calls promptly with StoreUnavailableError, then works again after a restart', async () => {
      const log = eventLog();
      await store.subscribe('rv-outage', log.listener);
      const before = await store.tryInit('rv-outage', 'a', pick);
      await server.stop();
      // Calls must fail fast rather than hang: race them against a 2 s sentinel.
      for (let i = 0; i < 2; i++) {
        const hung = new Promise<string>((resolve) => setTimeout(() => resolve('still pending after 2 s'), 2_000).unref());
        const outcome = await Promise.race([store.heartbeat('rv-outage', 'a').then(() => 'resolved', (e: unknown) => e), hung]);
        expect(outcome).toBeInstanceOf(StoreUnavailableError);
        expect((outcome as Error).message).toMatch(/check the Redis URL/i);
      }
      await server.restart();
      // The data is gone (no persistence) but the store reconnects and serves calls again.
      let joined;
      for (let attempt = 0; joined === undefined; attempt++) {
        joined = await other.tryInit('rv-outage', 'b', pick).catch(async (err: unknown) => {
          if (!(err instanceof StoreUnavailableError) || attempt > 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
          return undefined;
        });
      }
      expect(joined).toMatchObject({ kind: 'created', round: 0 });
      expect(joined.generation).not.toBe(before.generation);
      // The subscription survives: notifications are re-enabled on the restarted server.
      expect((await log.next((e) => e.type === 'joined' && e.member === 'b')).event).toEqual({ type: 'joined', member: 'b' });
    });

    it('starts a new generation after FLUSHALL, where rounds of the old one are stale or unknown', async () => {
      const [p1, p2] = [Uint8Array.of(1), Uint8Array.of(2)];
      const { generation } = await store.tryInit('rv-flush', 'a', p1);
      await store.startTransition('rv-flush', 'a', p2);
      const raw = new Redis(server.url);
      await raw.flushall();
      raw.disconnect();
      await expect(store.heartbeat('rv-flush', 'a')).rejects.toBeInstanceOf(NotAMemberError);
      const again = await other.tryInit('rv-flush', 'b', p1);
      expect(again).toMatchObject({ kind: 'created', round: 0, participants: 1 });
      expect(again.generation).not.toBe(generation);
      await other.startTransition('rv-flush', 'b', p2);
      // Round 1 again, of the new generation: an answer or a commit for the old round 1 does not touch it.
      await store.tryInit('rv-flush', 'a', p1);
      expect((await store.stageAck('rv-flush', 'a', { generation, round: 1 }, false)).kind).toBe('stale');
      await expect(store.commitIfReady('rv-flush', 'a', { generation, round: 1 })).rejects.toBeInstanceOf(RoundError);
      expect((await other.state('rv-flush'))?.pending).toMatchObject({ round: 1, committer: 'b' });
    });
  });
});
