/**
 * Rendezvous on a Redis Cluster whose nodes fail: the master that owns a
 * group's slot is killed, or its replica takes over (CLUSTER FAILOVER), or
 * the slot moves to another master, while members exchange messages and
 * switch stacks. This file starts its own cluster (node timeout 1 s).
 */
import { randomUUID } from 'node:crypto';
import { makeStack, select, serialize } from '@bertha/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from '../../../../scripts/servers/redis-cluster.js';
import { redisStore } from '@bertha/negotiate/redis';
import { eventLog } from '@bertha/negotiate/testing';
import { join, type Joined } from '../../src/rendezvous/join.js';
import { numPeersAtMost } from '../../src/rendezvous/policy.js';
import { rendezvousKey } from '../../src/rendezvous/redis-keys.js';
import { NotAMemberError, StoreUnavailableError, type RendezvousStore } from '../../src/rendezvous/store.js';
import { Bus, collect, picked, tag, until } from './join-helpers.js';

const LEASE_MS = 4_000;
const stack = () => makeStack(serialize<number>(), select(tag('tag-a'), tag('tag-b')));
const policy = numPeersAtMost(2, { then: 'tag-a', otherwise: 'tag-b' });

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(() => cluster?.stop());

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  // The next test starts from a whole cluster: killed nodes come back (as replicas).
  for (const { port } of cluster.nodes) await cluster.restart(port).catch(() => undefined);
  await cluster.waitOk();
});

const newStore = (leaseMs = LEASE_MS): RendezvousStore => {
  const s = redisStore({ cluster: [...cluster.nodes] }, { leaseMs, readyTimeoutMs: 500, commandTimeoutMs: 500 });
  cleanup.push(() => s.close());
  return s;
};

/** The slot of rendezvous `name`, asking the node on `port` (by default the first node, while it runs). */
function slotOf(name: string, port = cluster.nodes[0]!.port): number {
  return Number(cluster.cli(port, 'CLUSTER', 'KEYSLOT', `${rendezvousKey(name)}:round`).trim());
}

/** The replica of the master on `port` (any live one; a replica restarted by the last test may take a moment to be seen). */
async function replicaOf(port: number): Promise<number> {
  const id = cluster.cli(port, 'CLUSTER', 'MYID').trim();
  let line: string | undefined;
  await until(() => {
    line = cluster
      .cli(port, 'CLUSTER', 'NODES')
      .trim()
      .split('\n')
      .find((l) => l.split(' ')[3] === id && !l.includes('fail'));
    return line !== undefined;
  }, `a live replica of master ${port}`, 15_000);
  return Number(line!.split(' ')[1]!.split(':')[1]!.split('@')[0]);
}

/** Whether `replica` now serves the slot of `name` (false while no master does). */
function promoted(name: string, replica: number): boolean {
  try {
    return cluster.masterOf(slotOf(name, replica), replica) === replica;
  } catch {
    return false;
  }
}

/** Retries `fn` while the store is unavailable (a failover under way), for at most `ms`. */
async function retrying<T>(fn: () => Promise<T>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function joinAll(name: string, bus: Bus, members: readonly string[]): Promise<Array<Joined<number>>> {
  const joined: Array<Joined<number>> = [];
  for (const member of members) {
    const j = await join(stack(), { name, base: bus.open(), store: newStore(), policy, member });
    cleanup.push(() => j.handle.leave());
    joined.push(j);
  }
  return joined;
}

/** Every pick a handle switched to, in order. */
function picks(j: Joined<number>): string[][] {
  const seen = [[...j.handle.pick]];
  j.handle.on('pick', (p) => seen.push([...p]));
  return seen;
}

describe('rendezvous on Redis Cluster under failover', () => {
  it('keeps members exchanging while the master of their slot is killed, then serves them from the promoted replica', async () => {
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const [a, b, c] = (await joinAll(name, bus, ['a', 'b', 'c'])) as [Joined<number>, Joined<number>, Joined<number>];
    await until(() => [a, b, c].every((j) => picked(j.handle, 'tag-b')), 'all on tag-b', 10_000);
    const atC: number[] = [];
    void collect(c.conn, atC);
    const master = cluster.masterOf(slotOf(name));
    const replica = await replicaOf(master);
    const sending = (async () => {
      for (let n = 0; n < 60; n++) {
        await a.conn.send(n);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await cluster.kill(master);
    await sending;
    await until(() => atC.length === 60, 'c receiving everything a sent during the failover', 10_000);
    // The replica took over; the group is whole on it, in the same generation (nothing was lost).
    const watcher = newStore();
    await until(() => promoted(name, replica), 'the replica promoted', 15_000);
    const state = await retrying(() => watcher.state(name));
    expect(state).toMatchObject({ participants: 3 });
    // A fourth member joins after the failover and the policy still holds.
    const [d] = (await joinAll(name, bus, ['d'])) as [Joined<number>];
    await until(() => [a, b, c, d].every((j) => picked(j.handle, 'tag-b') && j.handle.participants === 4), 'four members on tag-b', 10_000);
  });

  it('commits or rolls back a transition across a manual failover, never both, and no member runs an uncommitted pick', async () => {
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const [a, b] = (await joinAll(name, bus, ['a', 'b'])) as [Joined<number>, Joined<number>];
    const seen = [picks(a), picks(b)];
    const master = cluster.masterOf(slotOf(name));
    const replica = await replicaOf(master);
    // The third member's arrival makes the policy switch everyone; the replica takes over meanwhile.
    // A join that meets the failover fails with StoreUnavailableError (500 ms command timeout here) and is retried, as an application would.
    const third = retrying(() => joinAll(name, bus, ['c']));
    cluster.cli(replica, 'CLUSTER', 'FAILOVER');
    const [c] = (await third) as [Joined<number>];
    seen.push(picks(c));
    await until(() => promoted(name, replica), 'the replica promoted', 15_000);
    await until(() => [a, b, c].every((j) => picked(j.handle, 'tag-b')), 'all on tag-b', 15_000);
    const watcher = newStore();
    const state = await retrying(() => watcher.state(name));
    expect(state).toMatchObject({ participants: 3 });
    expect(state?.pending).toBeUndefined();
    // Each member ran tag-a, then tag-b, the one committed change: no detour through anything else.
    for (const s of seen) expect(s.map((p) => p[1])).toEqual(s.length === 1 ? ['tag-b'] : ['tag-a', 'tag-b']);
  });

  it('detects a commit the old master acknowledged but never replicated as lost state, and the members converge', async () => {
    const name = `rv-${randomUUID()}`;
    const [sa, sb] = [newStore(), newStore()];
    const { generation } = await sa.tryInit(name, 'a', Uint8Array.of(1));
    await sb.tryInit(name, 'b', Uint8Array.of(1));
    const master = cluster.masterOf(slotOf(name));
    const replica = await replicaOf(master);
    // The replica stops hearing its master: what the master acknowledges now is lost with it.
    process.kill(cluster.pid(replica), 'SIGSTOP');
    try {
      cluster.cli(master, 'CLIENT', 'KILL', 'TYPE', 'replica');
      await sa.startTransition(name, 'a', Uint8Array.of(2));
      await sb.stageAck(name, 'b', { generation, round: 1 }, true);
      expect(await sa.commitIfReady(name, 'a', { generation, round: 1 })).toMatchObject({ kind: 'committed', pick: Uint8Array.of(2) });
      await cluster.kill(master);
    } finally {
      process.kill(cluster.pid(replica), 'SIGCONT');
    }
    await until(() => promoted(name, replica), 'the replica promoted', 15_000);
    // Both stores saw the commit; the promoted replica lacks it: the first call starts a new generation.
    await expect(retrying(() => sa.heartbeat(name, 'a'))).rejects.toBeInstanceOf(NotAMemberError);
    await expect(retrying(() => sb.heartbeat(name, 'b'))).rejects.toBeInstanceOf(NotAMemberError);
    const again = await retrying(() => sa.tryInit(name, 'a', Uint8Array.of(2)));
    expect(again).toMatchObject({ kind: 'created', round: 0, pick: Uint8Array.of(2) });
    expect(again.generation).not.toBe(generation);
    expect(await retrying(() => sb.tryInit(name, 'b', Uint8Array.of(1)))).toMatchObject({ kind: 'existing', generation: again.generation, pick: Uint8Array.of(2) });
  });

  it('follows a live group whose slot migrates to another master under traffic', async () => {
    const name = `rv-${randomUUID()}`;
    const bus = new Bus();
    const [a, b] = (await joinAll(name, bus, ['a', 'b'])) as [Joined<number>, Joined<number>];
    const watcher = newStore();
    const log = eventLog();
    expect((await watcher.subscribe(name, log.listener)).mode).toBe('push');
    const slot = slotOf(name);
    const from = cluster.masterOf(slot);
    const to = cluster.nodes.map((n) => n.port).find((p) => p !== from && cluster.cli(p, 'INFO', 'replication').includes('role:master'))!;
    const beating = (async () => {
      for (let i = 0; i < 20; i++) {
        await a.conn.send(i);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    cluster.migrate(slot, from, to);
    await beating;
    expect(cluster.masterOf(slot)).toBe(to);
    // A third member joins on the new owner; every member and the watcher hear it.
    const [c] = (await joinAll(name, bus, ['c'])) as [Joined<number>];
    expect((await log.next((e) => e.type === 'joined' && e.member === 'c')).event).toMatchObject({ type: 'joined' });
    await until(() => [a, b, c].every((j) => picked(j.handle, 'tag-b') && j.handle.participants === 3), 'all three on tag-b after the move', 10_000);
  });
});
