import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { makeStack, select, serialize } from '@bertha/core';
import { redisStore } from '@bertha/negotiate/redis';
import { RENDEZVOUS_STORE, RENDEZVOUS_TRANSITION, StoreUnavailableError, join, memoryStore, type Joined, type RendezvousStoreMessage, type RendezvousTransitionMessage } from '@bertha/negotiate';
import { startRedis } from '../../../../scripts/servers/redis.js';
import { heard, runScript } from '../../../core/test/diagnostics/helpers.js';
import { Bus, failure, killable, tag, until } from './join-helpers.js';

const LEASE_MS = 400;
const both = () => makeStack(serialize<number>(), select(tag('tag-a'), tag('tag-b')));
const onlyA = () => makeStack(serialize<number>(), tag('tag-a'));

const joined: Array<Joined<number>> = [];
afterEach(async () => {
  for (const j of joined.splice(0)) await j.handle.leave().catch(() => undefined);
});

describe('bertha:rendezvous:transition', () => {
  it('reports a transition on the embedded store to every member: proposed, committed, and each one switching', async () => {
    const events = heard<RendezvousTransitionMessage>(RENDEZVOUS_TRANSITION);
    const name = `rv-${randomUUID()}`;
    const store = memoryStore({ leaseMs: LEASE_MS });
    const bus = new Bus();
    joined.push(await join(both(), { name, base: bus.open(), store, member: 'a' }));
    joined.push(await join(both(), { name, base: bus.open(), store, member: 'b' }));
    await joined[0]!.handle.prefer('tag-b');
    await until(() => joined[1]!.handle.pick.includes('tag-b'), 'b on tag-b');

    for (const member of ['a', 'b']) {
      const seen = events.filter((e) => e.member === member && e.name === name);
      expect(seen).toContainEqual({ name, member, phase: 'proposed', generation: expect.any(String), round: 1, pick: ['serialize', 'tag-b'], committer: 'a' });
      expect(seen).toContainEqual({ name, member, phase: 'committed', generation: expect.any(String), round: 2, pick: ['serialize', 'tag-b'] });
      expect(seen.at(-1)).toEqual({ name, member, phase: 'switched', pick: ['serialize', 'tag-b'] });
    }
  });

  it('reports a transition a member refused as rolled back, naming it', async () => {
    const events = heard<RendezvousTransitionMessage>(RENDEZVOUS_TRANSITION);
    const name = `rv-${randomUUID()}`;
    const store = memoryStore({ leaseMs: LEASE_MS });
    const bus = new Bus();
    joined.push(await join(both(), { name, base: bus.open(), store, member: 'a' }));
    joined.push(await join(onlyA(), { name, base: bus.open(), store, member: 'b' }));
    await failure(joined[0]!.handle.prefer('tag-b'));
    await until(() => events.some((e) => e.member === 'a' && e.phase === 'rolled-back'), 'a hearing the rollback');
    expect(events.find((e) => e.member === 'a' && e.phase === 'rolled-back')).toEqual({
      name,
      member: 'a',
      phase: 'rolled-back',
      generation: expect.any(String),
      round: 2,
      reason: 'refused',
      by: 'b',
    });
    expect(events.some((e) => e.phase === 'committed')).toBe(false);
  });
});

describe('bertha:rendezvous:store', () => {
  it('reports the store going down once per outage, and coming back', async () => {
    const events = heard<RendezvousStoreMessage>(RENDEZVOUS_STORE);
    const name = `rv-${randomUUID()}`;
    const store = killable(memoryStore({ leaseMs: LEASE_MS }));
    joined.push(await join(both(), { name, base: new Bus().open(), store, member: 'a' }));
    store.kill();
    await until(() => events.length > 0, 'the store reported down');
    expect(events[0]).toEqual({ name, member: 'a', status: 'down', error: expect.any(StoreUnavailableError) });
    // Several heartbeats fail meanwhile: one outage, one message.
    await new Promise((r) => setTimeout(r, LEASE_MS));
    expect(events).toHaveLength(1);
    store.revive();
    await until(() => events.length > 1, 'the store reported up');
    expect(events[1]).toEqual({ name, member: 'a', status: 'up' });
  });

  it('reports a Redis that restarts without its state: down, then registered again in a new generation, then up', async () => {
    const redis = await startRedis();
    const store = redisStore(redis.url, { leaseMs: LEASE_MS, readyTimeoutMs: 300, commandTimeoutMs: 300 });
    try {
      const events = heard<RendezvousStoreMessage>(RENDEZVOUS_STORE);
      const name = `rv-${randomUUID()}`;
      joined.push(await join(both(), { name, base: new Bus().open(), store, member: 'a' }));
      const before = (await store.state(name))!.generation;
      await redis.stop();
      await until(() => events.some((e) => e.status === 'down'), 'the store reported down');
      await redis.restart();
      await until(() => events.some((e) => e.status === 'up'), 'the store reported up', 15_000);
      const statuses = events.map((e) => e.status);
      expect(statuses.slice(0, 1)).toEqual(['down']);
      expect(statuses.indexOf('generation')).toBeLessThan(statuses.indexOf('up'));
      const generation = events.find((e) => e.status === 'generation');
      expect(generation).toEqual({ name, member: 'a', status: 'generation', generation: expect.any(String), previous: before });
      expect(generation).not.toMatchObject({ generation: before });
    } finally {
      for (const j of joined.splice(0)) await j.handle.leave().catch(() => undefined);
      await store.close();
      await redis.stop();
    }
  }, 30_000);
});

describe('DEBUG=bertha:rendezvous', () => {
  it('prints the transitions and switches of every member', () => {
    const script = `
      import { makeStack, noop, serialize, select, twoSided } from '@bertha/core';
      import { join, memoryStore } from '@bertha/negotiate';
      import { Bus, tag } from './packages/negotiate/test/rendezvous/join-helpers.ts';
      const stack = () => makeStack(serialize(), select(tag('tag-a'), tag('tag-b')));
      const store = memoryStore();
      const bus = new Bus();
      const a = await join(stack(), { name: 'logged', base: bus.open(), store, member: 'a' });
      const b = await join(stack(), { name: 'logged', base: bus.open(), store, member: 'b' });
      await a.handle.prefer('tag-b');
      while (!b.handle.pick.includes('tag-b')) await new Promise((r) => setTimeout(r, 10));
      await a.handle.leave();
      await b.handle.leave();`;
    const { stderr, status } = runScript(script, { DEBUG: 'bertha:rendezvous' });
    expect(status).toBe(0);
    expect(stderr).toMatch(/bertha:rendezvous logged b: a proposed \[serialize, tag-b\] \(round 1\)/);
    expect(stderr).toMatch(/bertha:rendezvous logged a: committed \[serialize, tag-b\] \(round 2\)/);
    expect(stderr).toMatch(/bertha:rendezvous logged b: switched to \[serialize, tag-b\]/);
  }, 40_000);
});
