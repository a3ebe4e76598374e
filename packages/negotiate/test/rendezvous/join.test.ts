import { randomUUID } from 'node:crypto';
import { makeStack, select, serialize } from '@bertha/core';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { IncompatiblePickError, TransitionRefusedError } from '../../src/rendezvous/join-errors.js';
import { join, type Joined } from '../../src/rendezvous/join.js';
import { memoryStore } from '../../src/rendezvous/memory-store.js';
import { numPeersAtMost } from '../../src/rendezvous/policy.js';
import type { RendezvousStore } from '../../src/rendezvous/store.js';
import { redisStore } from '@bertha/negotiate/redis';
import { decodePick, encodePick } from '../../src/rendezvous/join-pick.js';
import { Bus, collect, deaf, failure, flaky, killable, picked, tag, until } from './join-helpers.js';

const LEASE_MS = 400;
interface Msg {
  readonly from: string;
  readonly n: number;
}

const both = () => makeStack(serialize<Msg>(), select(tag('tag-a'), tag('tag-b')));
const onlyA = () => makeStack(serialize<Msg>(), tag('tag-a'));
const onlyC = () => makeStack(serialize<Msg>(), tag('tag-c'));
const policy = numPeersAtMost(1, { then: 'tag-a', otherwise: 'tag-b' });
/** The same stack as `pick` in another epoch: a change every member can run. */
const another = (pick: Uint8Array) => {
  const d = decodePick(pick);
  return encodePick(d.stack, (d.epoch + 1) >>> 0);
};

// Each member gets its own store object: for Redis, its own connections, as separate processes would.
const backends: Array<[string, (leaseMs?: number) => () => RendezvousStore]> = [
  [
    'memoryStore',
    (leaseMs = LEASE_MS) => {
      const store = memoryStore({ leaseMs });
      return () => store;
    },
  ],
  ['redisStore', (leaseMs = LEASE_MS) => () => redisStore(inject('redisUrl'), { leaseMs })],
];

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

function track<D>(j: Joined<D>, store: RendezvousStore): Joined<D> {
  cleanup.push(() => store.close(), () => j.handle.leave());
  return j;
}


describe.each(backends)('join over %s', (_label, backend) => {
  it('switches both ways as participants join and leave (numPeersAtMost)', async () => {
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = newStore();
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, policy, member: 'a' }), storeA);
    expect(a.handle.participants).toBe(1);
    expect(a.handle.pick).toEqual(['serialize', 'tag-a']);
    const counts: number[] = [];
    a.handle.on('participants', (n) => counts.push(n));

    const storeB = newStore();
    const b = track(await join(both(), { name, base: bus.open(), store: storeB, policy, member: 'b' }), storeB);
    await until(() => picked(a.handle, 'tag-b') && picked(b.handle, 'tag-b'), 'both on tag-b');

    const storeC = newStore();
    const c = track(await join(both(), { name, base: bus.open(), store: storeC, policy, member: 'c' }), storeC);
    expect(c.handle.pick).toEqual(['serialize', 'tag-b']);
    await until(() => a.handle.participants === 3, 'a counting 3');

    // Everyone still hears everyone on the switched stack.
    const atC: Msg[] = [];
    void collect(c.conn, atC);
    await a.conn.send({ from: 'a', n: 1 });
    await b.conn.send({ from: 'b', n: 1 });
    await until(() => atC.length === 2, 'c receiving from a and b');

    await c.handle.leave();
    await until(() => a.handle.participants === 2 && picked(a.handle, 'tag-b'), 'a counting 2, still on tag-b');
    await b.handle.leave();
    await until(() => a.handle.participants === 1 && picked(a.handle, 'tag-a'), 'a alone, back on tag-a');
    expect(counts).toEqual([2, 3, 2, 1]);
  });

  it('counts a member that vanished out after its lease, and switches back', async () => {
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = newStore();
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, policy, member: 'a' }), storeA);
    const storeB = killable(newStore());
    track(await join(both(), { name, base: bus.open(), store: storeB, policy, member: 'b' }), storeB);
    await until(() => picked(a.handle, 'tag-b'), 'a on tag-b');
    // b's process stops talking to the store without leaving.
    storeB.kill();
    await until(() => a.handle.participants === 1 && picked(a.handle, 'tag-a'), 'a alone after b\'s lease, on tag-a');
  });

  it('rolls back a transition a member cannot run; the proposer gets a typed error and keeps its stack', async () => {
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = newStore();
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, member: 'a' }), storeA);
    const storeB = newStore();
    const b = track(await join(onlyA(), { name, base: bus.open(), store: storeB, member: 'b' }), storeB);
    expect(b.handle.pick).toEqual(['serialize', 'tag-a']);

    const err = await failure(a.handle.prefer('tag-b'));
    expect(err).toBeInstanceOf(TransitionRefusedError);
    expect(err).toMatchObject({ code: 'ERR_TRANSITION_REFUSED', reason: 'refused', by: 'b', proposed: ['serialize', 'tag-b'] });
    expect(a.handle.pick).toEqual(['serialize', 'tag-a']);
    await a.conn.send({ from: 'a', n: 7 });
    expect(await b.conn.recv()).toEqual({ from: 'a', n: 7 });
  });

  it('rejects a joiner that cannot run the committed pick, naming what does not match', async () => {
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = newStore();
    track(await join(makeStack(serialize<Msg>(), tag('tag-b')), { name, base: bus.open(), store: storeA, member: 'a' }), storeA);
    const storeB = newStore();
    cleanup.push(() => storeB.close());
    const err = await failure(join(onlyA(), { name, base: bus.open(), store: storeB, member: 'b' }));
    expect(err).toBeInstanceOf(IncompatiblePickError);
    expect((err as IncompatiblePickError).pick).toEqual(['serialize', 'tag-b']);
    expect((err as IncompatiblePickError).incompatibilities[0]?.type).toBe('tag');
    // It left again: only a counts.
    expect((await storeA.state(name))?.participants).toBe(1);
  });

  it('is not disturbed by joiners that cannot run its next pick: no commit, no error events', async () => {
    // tag-a for a pair, tag-b from three participants on.
    const pairs = numPeersAtMost(2, { then: 'tag-a', otherwise: 'tag-b' });
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = newStore();
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, policy: pairs, member: 'a' }), storeA);
    const storeB = newStore();
    const b = track(await join(both(), { name, base: bus.open(), store: storeB, policy: pairs, member: 'b' }), storeB);
    await until(() => picked(a.handle, 'tag-a') && picked(b.handle, 'tag-a') && a.handle.participants === 2, 'a and b on tag-a');
    const seen: string[] = [];
    for (const [who, j] of [['a', a], ['b', b]] as const) {
      j.handle.on('pick', (p) => seen.push(`${who} switched to ${p.join(',')}`));
      j.handle.on('error', (e) => seen.push(`${who} error: ${e.message}`));
    }

    // c can run neither tag-a nor tag-b: refused. Its arrival made a and b's policy ask for tag-b (3 participants).
    const storeC = newStore();
    cleanup.push(() => storeC.close());
    const err = await failure(join(onlyC(), { name, base: bus.open(), store: storeC, member: 'c' }));
    expect(err).toBeInstanceOf(IncompatiblePickError);
    await until(() => a.handle.participants === 2 && b.handle.participants === 2, 'a and b counting 2 again');
    // Give a proposal made for the 3 that were briefly live time to commit (it must not).
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));

    // d can run tag-a but not tag-b: it stays, and the group stays on tag-a (d refuses tag-b).
    const storeD = newStore();
    const d = track(await join(onlyA(), { name, base: bus.open(), store: storeD, member: 'd' }), storeD);
    await until(() => a.handle.participants === 3 && b.handle.participants === 3, 'a and b counting 3');
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    expect(seen).toEqual([]);
    expect((await storeA.state(name))?.pending).toBeUndefined();
    expect(a.handle.pick).toEqual(['serialize', 'tag-a']);
    await a.conn.send({ from: 'a', n: 1 });
    expect(await d.conn.recv()).toEqual({ from: 'a', n: 1 });
  });

  /**
   * a and b run tag-a; b is away from the store (its calls fail) until its
   * lease lapses, a alone commits tag-b, and b comes back: b has to build
   * tag-b (with `tagB`) as a pick already committed, never having prepared it.
   */
  async function commitWhileAway(tagB: ReturnType<typeof flaky>) {
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = newStore();
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, member: 'a' }), storeA);
    const storeB = killable(newStore());
    const b = track(await join(makeStack(serialize<Msg>(), select(tag('tag-a'), tagB)), { name, base: bus.open(), store: storeB, member: 'b' }), storeB);
    const errors: Error[] = [];
    b.handle.on('error', (e) => errors.push(e));
    storeB.kill();
    // Once the store has forgotten b, b hears nothing of the change staged next.
    await until(async () => (await storeA.state(name))?.members.join() === 'a', "b's lease lapsing");
    await a.handle.prefer('tag-b');
    errors.length = 0;
    return { name, a, b, storeA, errors, comeBack: () => storeB.revive() };
  }

  it('builds a committed pick again when its build failed, and then receives on it', async () => {
    const tagB = flaky('tag-b', 1);
    const { a, b, errors, comeBack } = await commitWhileAway(tagB);
    comeBack();
    await until(() => picked(b.handle, 'tag-b'), 'b on tag-b after a failed build');
    expect(tagB.builds).toBe(2);
    expect(errors.filter((e) => e.message.includes('tag-b'))).toEqual([]);
    await a.conn.send({ from: 'a', n: 2 });
    expect(await b.conn.recv()).toEqual({ from: 'a', n: 2 });
    expect(a.handle.participants).toBe(2);
  });

  it('leaves cleanly when a committed pick never builds: an error event, the connection ends, the group stops counting it', async () => {
    const { name, b, storeA, errors, comeBack } = await commitWhileAway(flaky('tag-b', Infinity));
    const reading = failure(
      (async () => {
        for await (const _ of b.conn);
      })(),
    );
    comeBack();
    const ended = await Promise.race([reading, new Promise((resolve) => setTimeout(() => resolve('b still reading 5 s later'), 5_000).unref())]);
    expect(ended).toBeInstanceOf(Error);
    expect((ended as Error).message).toMatch(/tag-b: its service is away/);
    expect(errors).toContain(ended);
    await until(async () => (await storeA.state(name))?.participants === 1, 'the store counting only a');
    await expect(b.conn.send({ from: 'b', n: 1 })).rejects.toThrow();
  });

  it('has a peer that joins mid-transition adopt the new pick', async () => {
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    // b takes a while to build tag-b, so the transition stays staged for a moment.
    const slowB = () => makeStack(serialize<Msg>(), select(tag('tag-a'), tag('tag-b', 300)));
    const storeA = newStore();
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, member: 'a' }), storeA);
    const storeB = newStore();
    track(await join(slowB(), { name, base: bus.open(), store: storeB, member: 'b' }), storeB);
    const switching = a.handle.prefer('tag-b');
    const watcher = newStore();
    cleanup.push(() => watcher.close());
    for (;;) {
      if ((await watcher.state(name))?.pending !== undefined) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const storeC = newStore();
    const c = track(await join(both(), { name, base: bus.open(), store: storeC, member: 'c' }), storeC);
    expect(c.handle.pick).toEqual(['serialize', 'tag-b']);
    await switching;
    expect(a.handle.pick).toEqual(['serialize', 'tag-b']);
  });

  it('loses nothing sent before, during or after transitions', async () => {
    const newStore = backend();
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = newStore();
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, member: 'a' }), storeA);
    const storeB = newStore();
    const b = track(await join(both(), { name, base: bus.open(), store: storeB, member: 'b' }), storeB);
    const atA: Msg[] = [];
    const atB: Msg[] = [];
    void collect(a.conn, atA);
    void collect(b.conn, atB);

    const N = 300;
    const send = async (j: Joined<Msg>, from: string) => {
      for (let n = 0; n < N; n++) {
        await j.conn.send({ from, n });
        if (n % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    };
    const flows = Promise.all([send(a, 'a'), send(b, 'b')]);
    await until(() => atB.length > 50, 'first messages');
    await a.handle.prefer('tag-b');
    await until(() => atB.length > 150, 'more messages');
    await b.handle.trigger(['serialize', 'tag-a']);
    await flows;
    await until(() => atA.length === N && atB.length === N, 'every message');
    const ns = (msgs: Msg[], from: string) => msgs.filter((m) => m.from === from).map((m) => m.n).sort((x, y) => x - y);
    const all = Array.from({ length: N }, (_, i) => i);
    expect(ns(atB, 'a')).toEqual(all);
    expect(ns(atA, 'b')).toEqual(all);
    await until(() => picked(a.handle, 'tag-a'), 'a back on tag-a');
  });

  /** Members a then b of a new group, each with its own store (`wrap`ped); a lease no heartbeat ends during a test. */
  const twoMembers = async (wrap: { a?: (s: RendezvousStore) => RendezvousStore; b?: (s: RendezvousStore) => RendezvousStore } = {}) => {
    const newStore = backend(60_000);
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const storeA = (wrap.a ?? ((s) => s))(newStore());
    const a = track(await join(both(), { name, base: bus.open(), store: storeA, member: 'a' }), storeA);
    const storeB = (wrap.b ?? ((s) => s))(newStore());
    const b = track(await join(both(), { name, base: bus.open(), store: storeB, member: 'b' }), storeB);
    return { name, a, b, storeA, storeB };
  };

  it('rolls back a change of its own that no proposal of its commits (a staging call whose reply was lost)', async () => {
    const { name, a, b, storeB } = await twoMembers();
    const before = (await storeB.state(name))!;
    // a's call staged a change (one b can run, so b accepts), but its reply never reached a: nobody would ever commit it.
    await storeB.startTransition(name, 'a', another(before.pick));
    await until(async () => (await storeB.state(name))?.round === before.round + 2, 'a to roll its orphaned change back', 10_000);
    expect((await storeB.state(name))?.pick).toEqual(before.pick);
    await b.handle.prefer('tag-b');
    await until(() => picked(a.handle, 'tag-b'), 'a on tag-b', 10_000);
  });

  it('proposes again when its retried staging call finds the change a lost reply staged', async () => {
    // a hears nothing of the orphaned change (neither staged nor ready to commit): only its own proposal meets it.
    const { name, a, b, storeB } = await twoMembers({ a: (s) => deaf(s, ['staged', 'ready']) });
    await storeB.startTransition(name, 'a', another((await storeB.state(name))!.pick));
    await a.handle.prefer('tag-b');
    expect(a.handle.pick).toEqual(['serialize', 'tag-b']);
    await until(() => picked(b.handle, 'tag-b'), 'b on tag-b', 10_000);
  });

  it('proposes from the committed pick even when it has not heard of the last commit yet', async () => {
    // b's notification of a's commit is lost (and no heartbeat tells b of it): b still sees a's change staged, the old pick committed.
    const { name, a, b, storeA } = await twoMembers({ b: (s) => deaf(s, ['committed']) });
    await a.handle.prefer('tag-b');
    await b.handle.trigger(['serialize', 'tag-a']);
    const committed = await storeA.state(name);
    expect(committed && decodePick(committed.pick).offer.chunnels.map((c) => c.name)).toEqual(['serialize', 'tag-a']);
    expect(b.handle.pick).toEqual(['serialize', 'tag-a']);
    await until(() => picked(a.handle, 'tag-a'), 'a back on tag-a');
  });
});
