import { describe, expect, it } from 'vitest';
import { FifoScheduler } from '../../src/bundler/fifo-scheduler.js';
import { PacedQueue } from '../../src/bundler/paced-queue.js';
import { SfqScheduler } from '../../src/bundler/sfq-scheduler.js';
import { Simulator } from '../../src/sim/simulator.js';

interface Pkt {
  readonly bytes: number;
  readonly flow: number;
  readonly seq: number;
}

const pkt = (flow: number, seq: number, bytes = 1500): Pkt => ({ flow, seq, bytes });

describe('FifoScheduler', () => {
  it('serves in arrival order and drops at the tail when full', () => {
    const q = new FifoScheduler<Pkt>({ limitBytes: 4500 });
    for (let i = 0; i < 4; i++) q.enqueue(pkt(i % 2, i));
    expect(q.drops).toBe(1);
    expect(q.packets).toBe(3);
    expect([q.dequeue(), q.dequeue(), q.dequeue(), q.dequeue()].map((p) => p?.seq)).toEqual([0, 1, 2, undefined]);
    expect(q.bytes).toBe(0);
  });
});

describe('SfqScheduler', () => {
  it('serves a short flow ahead of a long flow\'s backlog', () => {
    const q = new SfqScheduler<Pkt>({ limitBytes: 1e6 });
    for (let i = 0; i < 200; i++) q.enqueue(pkt(1, i), 1);
    for (let i = 0; i < 3; i++) q.enqueue(pkt(2, i), 2);
    expect(q.bucketOf(1)).not.toBe(q.bucketOf(2));
    const order = Array.from({ length: 203 }, () => q.dequeue()!);
    const lastShort = order.findLastIndex((p) => p.flow === 2);
    // Round robin: one long-flow packet per short-flow packet, not 200 first.
    expect(lastShort).toBeLessThan(8);
    expect(order.filter((p) => p.flow === 1).map((p) => p.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(q.dequeue()).toBeUndefined();
    expect(q.packets).toBe(0);
    expect(q.bytes).toBe(0);
  });

  it('shares between backlogged flows by bytes, not packets', () => {
    const q = new SfqScheduler<Pkt>({ limitBytes: 1e7 });
    for (let i = 0; i < 300; i++) q.enqueue(pkt(1, i, 1500), 1);
    for (let i = 0; i < 900; i++) q.enqueue(pkt(2, i, 500), 2);
    const bytes = [0, 0, 0];
    for (let i = 0; i < 400; i++) {
      const p = q.dequeue()!;
      bytes[p.flow]! += p.bytes;
    }
    expect(bytes[1]! / bytes[2]!).toBeGreaterThan(0.8);
    expect(bytes[1]! / bytes[2]!).toBeLessThan(1.25);
  });

  it('when full, drops from the longest bucket, sparing the short flow', () => {
    const q = new SfqScheduler<Pkt>({ limitBytes: 15_000 });
    for (let i = 0; i < 8; i++) q.enqueue(pkt(1, i), 1);
    expect(q.enqueue(pkt(2, 0), 2)).toBe(true);
    expect(q.enqueue(pkt(2, 1), 2)).toBe(true);
    // Full: the long flow loses its newest packets, including the one arriving now.
    expect(q.enqueue(pkt(1, 8), 1)).toBe(false);
    expect(q.enqueue(pkt(2, 2), 2)).toBe(true);
    expect(q.drops).toBe(2);
    expect(q.bytes).toBeLessThanOrEqual(15_000);
    const out: Pkt[] = [];
    for (let p = q.dequeue(); p !== undefined; p = q.dequeue()) out.push(p);
    expect(out.filter((p) => p.flow === 2).map((p) => p.seq)).toEqual([0, 1, 2]);
    expect(out.filter((p) => p.flow === 1).map((p) => p.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('PacedQueue', () => {
  it('drains at its rate, follows rate changes, and holds while the gate is closed', () => {
    const sim = new Simulator();
    const sent: number[] = [];
    let open = true;
    const q = new PacedQueue<Pkt>(sim, new FifoScheduler({ limitBytes: 1e6 }), () => sent.push(sim.now()), { rate: 1.5e6, gate: () => open });
    for (let i = 0; i < 10; i++) q.enqueue(pkt(1, i), 1);
    sim.run({ untilUs: 4_500 });
    // 1500 B at 1.5 MB/s: one packet per ms.
    expect(sent).toEqual([0, 1000, 2000, 3000, 4000]);
    q.rate = 3e6;
    open = false;
    sim.run({ untilUs: 20_000 });
    expect(sent.length).toBe(5);
    open = true;
    q.kick();
    sim.run();
    expect(sent.length).toBe(10);
    expect(sent.at(-1)! - sent.at(-2)!).toBe(500);
  });
});
