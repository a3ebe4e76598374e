/**
 * The compliance suite every RendezvousStore passes. `open(count, leaseMs)`
 * returns `count` handles on one shared store, as separate processes would
 * see it (the memory store returns the same instance `count` times).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { NotAMemberError, RoundError, type RendezvousEvent, type RendezvousState, type RendezvousStore } from '../rendezvous/store.js';

export type OpenStores = (count: number, leaseMs: number) => RendezvousStore[];

const LONG_LEASE = 10_000;
const SHORT_LEASE = 300;

const bytes = (...b: number[]) => Uint8Array.from(b);
// Binary on purpose: NUL, high bytes, and invalid UTF-8.
const P1 = bytes(0x00, 0xff, 0x80, 0x01);
const P2 = bytes(0xc3, 0x28, 0x00, 0x02);
const P3 = bytes(0x03);

/** Collects events and waits for the first one (not yet consumed) that matches. */
export function eventLog() {
  const seen: Array<{ event: RendezvousEvent; state: RendezvousState | undefined }> = [];
  let wake = () => {};
  return {
    listener: (event: RendezvousEvent, state: RendezvousState | undefined) => {
      seen.push({ event, state });
      wake();
    },
    async next(match: (e: RendezvousEvent) => boolean): Promise<{ event: RendezvousEvent; state: RendezvousState | undefined }> {
      for (;;) {
        const i = seen.findIndex((s) => match(s.event));
        if (i >= 0) return seen.splice(0, i + 1)[i]!;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

export function storeComplianceSuite(label: string, open: OpenStores): void {
  describe(`RendezvousStore compliance: ${label}`, () => {
    let opened: RendezvousStore[] = [];
    const stores = (count: number, leaseMs = LONG_LEASE) => {
      const s = open(count, leaseMs);
      opened.push(...s);
      return s;
    };
    const name = () => `rv-${randomUUID()}`;
    afterEach(async () => {
      await Promise.all(opened.map((s) => s.close()));
      opened = [];
    });

    it('tryInit is compare-and-swap: of many concurrent proposals exactly one creates', async () => {
      const s = stores(4);
      const n = name();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s[i % s.length]!.tryInit(n, `m${i}`, bytes(0x00, i, 0xff))),
      );
      const created = results.filter((r) => r.kind === 'created');
      expect(created).toHaveLength(1);
      const winner = created[0]!.pick;
      for (const r of results) expect(Buffer.from(r.pick).equals(Buffer.from(winner))).toBe(true);
      const state = await s[0]!.state(n);
      expect(state?.participants).toBe(20);
      expect(state?.round).toBe(0);
      expect(new Set(state?.members)).toEqual(new Set(results.map((_, i) => `m${i}`)));
    });

    it('keeps binary picks byte for byte and counts a rejoin once', async () => {
      const [a, b] = stores(2);
      const n = name();
      expect((await a!.tryInit(n, 'a', P1)).kind).toBe('created');
      const joined = await b!.tryInit(n, 'b', P2);
      expect(joined).toMatchObject({ kind: 'existing', round: 0, participants: 2 });
      expect(Buffer.from(joined.pick)).toEqual(Buffer.from(P1));
      expect((await b!.tryInit(n, 'b', P2)).participants).toBe(2);
    });

    it('counts only members whose lease is live; an expired member must rejoin', async () => {
      const [a, b] = stores(2, SHORT_LEASE);
      const n = name();
      await a!.tryInit(n, 'a', P1);
      await b!.tryInit(n, 'b', P1);
      expect((await a!.heartbeat(n, 'a')).participants).toBe(2);
      // Only a keeps heartbeating (every third of the lease); b's lease runs out.
      let state: RendezvousState;
      do {
        await new Promise((r) => setTimeout(r, SHORT_LEASE / 3));
        state = await a!.heartbeat(n, 'a');
      } while (state.participants > 1);
      expect(state.members).toEqual(['a']);
      await expect(b!.heartbeat(n, 'b')).rejects.toBeInstanceOf(NotAMemberError);
      expect((await b!.tryInit(n, 'b', P2)).participants).toBe(2);
    });

    it('commits a change once every live member accepted', async () => {
      const [a, b] = stores(2);
      const n = name();
      const { generation } = await a!.tryInit(n, 'a', P1);
      await b!.tryInit(n, 'b', P1);
      const start = await a!.startTransition(n, 'a', P2);
      expect(start).toMatchObject({ kind: 'committer', round: 1 });
      const other = await b!.startTransition(n, 'b', P3);
      expect(other.kind).toBe('in-progress');
      if (other.kind === 'in-progress') expect(other.pending).toMatchObject({ round: 1, committer: 'a', acked: 1, pick: P2 });
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 })).toEqual({ kind: 'waiting', acked: 1, participants: 2 });
      await expect(b!.commitIfReady(n, 'b', { generation, round: 1 })).rejects.toBeInstanceOf(RoundError);
      expect((await b!.stageAck(n, 'b', { generation, round: 1 }, true)).kind).toBe('accepted');
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 })).toEqual({ kind: 'committed', round: 2, pick: P2 });
      // Asking again tells the same outcome.
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 })).toEqual({ kind: 'committed', round: 2, pick: P2 });
      const state = await b!.heartbeat(n, 'b');
      expect(state).toMatchObject({ round: 2, pick: P2, participants: 2 });
      expect(state.pending).toBeUndefined();
      expect((await b!.stageAck(n, 'b', { generation, round: 1 }, true)).kind).toBe('stale');
    });

    it('rolls a change back when one member refuses, and tells the committer who refused', async () => {
      const [a, b] = stores(2);
      const n = name();
      const { generation } = await a!.tryInit(n, 'a', P1);
      await b!.tryInit(n, 'b', P1);
      await a!.startTransition(n, 'a', P2);
      const refused = await b!.stageAck(n, 'b', { generation, round: 1 }, false);
      expect(refused.kind).toBe('refused');
      expect(refused.state).toMatchObject({ round: 2, pick: P1 });
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 })).toEqual({ kind: 'rolled-back', round: 2, reason: 'refused', by: 'b' });
      // The next change can start.
      expect(await b!.startTransition(n, 'b', P3)).toMatchObject({ kind: 'committer', round: 3 });
    });

    it('names rounds by generation: an answer or commit for another generation is stale or unknown', async () => {
      const [a, b] = stores(2);
      const n = name();
      const { generation } = await a!.tryInit(n, 'a', P1);
      expect(generation).toEqual(expect.any(String));
      expect((await b!.tryInit(n, 'b', P1)).generation).toBe(generation);
      await a!.startTransition(n, 'a', P2);
      const other = { generation: `not-${generation}`, round: 1 };
      expect((await b!.stageAck(n, 'b', other, true)).kind).toBe('stale');
      expect((await b!.stageAck(n, 'b', other, false)).state.pending).toMatchObject({ round: 1, acked: 1 });
      await expect(a!.commitIfReady(n, 'a', other)).rejects.toBeInstanceOf(RoundError);
      expect((await b!.stageAck(n, 'b', { generation, round: 1 }, true)).kind).toBe('accepted');
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 })).toMatchObject({ kind: 'committed', round: 2 });
    });

    it('commits only while as many members are live as the committer asks for', async () => {
      const [a, b, c] = stores(3);
      const n = name();
      const { generation } = await a!.tryInit(n, 'a', P1);
      await b!.tryInit(n, 'b', P1);
      await c!.tryInit(n, 'c', P1);
      await a!.startTransition(n, 'a', P2);
      await b!.stageAck(n, 'b', { generation, round: 1 }, true);
      await c!.stageAck(n, 'c', { generation, round: 1 }, true);
      // The change was decided for three; c leaves before the commit.
      await c!.leave(n, 'c');
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 }, { participants: 3 })).toEqual({ kind: 'waiting', acked: 2, participants: 2 });
      expect((await a!.state(n))?.pick).toEqual(P1);
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 }, { participants: 2 })).toEqual({ kind: 'committed', round: 2, pick: P2 });
    });

    it('shows a member that joins mid-change the staged pick, and waits for its answer', async () => {
      const [a, c] = stores(2);
      const n = name();
      const { generation } = await a!.tryInit(n, 'a', P1);
      await a!.startTransition(n, 'a', P2);
      const joined = await c!.tryInit(n, 'c', P3);
      expect(joined).toMatchObject({ kind: 'existing', pick: P1, round: 1, participants: 2 });
      expect(joined.pending).toMatchObject({ round: 1, pick: P2, committer: 'a' });
      expect((await a!.commitIfReady(n, 'a', { generation, round: 1 })).kind).toBe('waiting');
      await c!.stageAck(n, 'c', { generation, round: 1 }, true);
      expect(await a!.commitIfReady(n, 'a', { generation, round: 1 })).toMatchObject({ kind: 'committed', pick: P2 });
    });

    it('counts the answers of live members only, and is ready to commit once the last member that had not answered leaves', async () => {
      const [a, b, c, watcher] = stores(4);
      const n = name();
      const { generation } = await a!.tryInit(n, 'a', P1);
      await b!.tryInit(n, 'b', P1);
      await c!.tryInit(n, 'c', P1);
      const log = eventLog();
      const sub = await watcher!.subscribe(n, log.listener);
      await a!.startTransition(n, 'a', P2);
      const ref = { generation, round: 1 };
      expect((await b!.stageAck(n, 'b', ref, true)).state.pending?.acked).toBe(2);
      expect((await b!.stageAck(n, 'b', ref, true)).state.pending?.acked).toBe(2); // an answer counts once
      await b!.leave(n, 'b');
      expect((await a!.heartbeat(n, 'a')).pending?.acked).toBe(1);
      // b comes back: its answer counts again.
      expect(await b!.tryInit(n, 'b', P1)).toMatchObject({ participants: 3, pending: { round: 1, acked: 2 } });
      expect(await a!.commitIfReady(n, 'a', ref)).toEqual({ kind: 'waiting', acked: 2, participants: 3 });
      await c!.leave(n, 'c');
      expect((await log.next((e) => e.type === 'ready')).event).toEqual({ type: 'ready', round: 1 });
      expect(await a!.commitIfReady(n, 'a', ref)).toEqual({ kind: 'committed', round: 2, pick: P2 });
      await sub.unsubscribe();
    });

    it('abandons a change whose committer leaves', async () => {
      const [a, b] = stores(2);
      const n = name();
      await a!.tryInit(n, 'a', P1);
      await b!.tryInit(n, 'b', P1);
      await a!.startTransition(n, 'a', P2);
      await a!.leave(n, 'a');
      const state = await b!.heartbeat(n, 'b');
      expect(state).toMatchObject({ round: 2, pick: P1, participants: 1 });
      expect(state.pending).toBeUndefined();
    });

    it('forgets the rendezvous when the last member leaves, keeping rounds increasing', async () => {
      const [a, b] = stores(2);
      const n = name();
      await a!.tryInit(n, 'a', P1);
      await b!.tryInit(n, 'b', P1);
      await a!.leave(n, 'b');
      await a!.leave(n, 'b'); // idempotent
      const before = await a!.state(n);
      expect(before?.members).toEqual(['a']);
      await a!.startTransition(n, 'a', P2);
      await a!.commitIfReady(n, 'a', { generation: before!.generation, round: 1 });
      await a!.leave(n, 'a');
      expect(await b!.state(n)).toBeUndefined();
      // Same generation: the store lost nothing, it only forgot the pick.
      expect(await b!.tryInit(n, 'b', P3)).toMatchObject({ kind: 'created', generation: before!.generation, pick: P3, round: 2, participants: 1 });
    });

    it('notifies joins, staged changes, readiness to commit, outcomes and departures', async () => {
      const [a, b, watcher] = stores(3);
      const n = name();
      const { generation } = await a!.tryInit(n, 'a', P1);
      const log = eventLog();
      const sub = await watcher!.subscribe(n, log.listener);
      await b!.tryInit(n, 'b', P1);
      expect((await log.next((e) => e.type === 'joined')).event).toEqual({ type: 'joined', member: 'b' });
      await a!.startTransition(n, 'a', P2);
      expect((await log.next((e) => e.type === 'staged')).event).toEqual({ type: 'staged', round: 1, pick: P2, committer: 'a' });
      await b!.stageAck(n, 'b', { generation, round: 1 }, true);
      const ready = await log.next((e) => e.type === 'ready');
      expect(ready.event).toEqual({ type: 'ready', round: 1 });
      expect(ready.state?.pending).toMatchObject({ round: 1, acked: 2 });
      await a!.commitIfReady(n, 'a', { generation, round: 1 });
      const committed = await log.next((e) => e.type === 'committed');
      expect(committed.event).toEqual({ type: 'committed', round: 2, pick: P2 });
      expect(committed.state).toMatchObject({ round: 2, pick: P2 });
      await a!.startTransition(n, 'a', P3);
      await b!.stageAck(n, 'b', { generation, round: 3 }, false);
      expect((await log.next((e) => e.type === 'rolled-back')).event).toEqual({ type: 'rolled-back', round: 4, reason: 'refused', by: 'b' });
      await b!.leave(n, 'b');
      expect((await log.next((e) => e.type === 'left')).event).toEqual({ type: 'left', member: 'b' });
      await sub.unsubscribe();
    });

    it('rejects calls with a typed error when aborted or when the member has no lease', async () => {
      const [a] = stores(1);
      const n = name();
      await expect(a!.tryInit(n, 'a', P1, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      await expect(a!.heartbeat(n, 'a')).rejects.toMatchObject({ code: 'ERR_NOT_A_MEMBER' });
      await expect(a!.tryInit('', 'a', P1)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      const { generation } = await a!.tryInit(n, 'a', P1);
      await expect(a!.commitIfReady(n, 'a', { generation, round: 7 })).rejects.toMatchObject({ code: 'ERR_ROUND' });
      await a!.close();
      await expect(a!.state(n)).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
    });
  });
}
