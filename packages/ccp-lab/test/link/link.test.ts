import { describe, expect, it } from 'vitest';
import { Link, type Packet } from '../../src/link/link.js';
import { constantTrace } from '../../src/link/trace.js';
import { Simulator } from '../../src/sim/simulator.js';

interface Pkt extends Packet {
  id: number;
}

/** A link on a fresh simulator that records (time, id) of every delivery. */
function setup(opts: ConstructorParameters<typeof Link>[1]) {
  const sim = new Simulator();
  const got: [number, number][] = [];
  const link = new Link<Pkt>(sim, opts, (p) => got.push([sim.now(), p.id]));
  return { sim, link, got };
}

describe('Link', () => {
  it('delivers at exactly its rate when kept busy', () => {
    const { sim, link } = setup({ rateBps: 10e6, bufferPackets: 100 });
    // A sender that keeps 50 packets queued for one simulated second.
    let id = 0;
    const refill = (): void => {
      while (link.queuePackets < 50) link.enqueue({ bytes: 1500, id: id++ });
      if (sim.now() < 1e6) sim.after(1000, refill);
    };
    refill();
    sim.run({ untilUs: 1e6 });
    const bits = link.stats.bytesDelivered * 8;
    expect(Math.abs(bits - 10e6) / 10e6).toBeLessThan(0.01);
    expect(link.utilisation()).toBeGreaterThan(0.99);
    expect(link.stats.dropped).toBe(0);
  });

  it('adds serialisation and propagation delay, in order', () => {
    const { sim, link, got } = setup({ rateBps: 12e6, delayUs: 20_000 });
    // 1500 bytes at 12 Mbit/s take 1 ms.
    link.enqueue({ bytes: 1500, id: 1 });
    link.enqueue({ bytes: 1500, id: 2 });
    sim.at(10_000, () => link.enqueue({ bytes: 750, id: 3 }));
    sim.run();
    expect(got).toEqual([
      [21_000, 1],
      [22_000, 2],
      [30_500, 3],
    ]);
    expect(link.stats.queueDelayMaxUs).toBe(2000);
  });

  it('is a pure delay line without a rate', () => {
    const { sim, link, got } = setup({ delayUs: 500 });
    for (let i = 0; i < 3; i++) link.enqueue({ bytes: 1e6, id: i });
    sim.run();
    expect(got).toEqual([
      [500, 0],
      [500, 1],
      [500, 2],
    ]);
  });

  it('drop-tail: refuses packets beyond the buffer, in bytes or packets', () => {
    const bytes = setup({ rateBps: 1e6, bufferBytes: 4500 });
    const accepted = Array.from({ length: 10 }, (_, i) => bytes.link.enqueue({ bytes: 1500, id: i }));
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(bytes.link.stats.dropped).toBe(7);
    expect(bytes.link.queueBytes).toBe(4500);
    bytes.sim.run();
    expect(bytes.got.map(([, id]) => id)).toEqual([0, 1, 2]);

    const pkts = setup({ rateBps: 1e6, bufferPackets: 2 });
    for (let i = 0; i < 5; i++) pkts.link.enqueue({ bytes: 100, id: i });
    expect(pkts.link.stats.dropped).toBe(3);
    // Once the first leaves, there is room again.
    pkts.sim.run({ untilUs: 800 });
    expect(pkts.link.enqueue({ bytes: 100, id: 9 })).toBe(true);
  });

  it('loses packets at random at rate p, the same ones for the same seed', () => {
    const run = (seed: number): number[] => {
      const { sim, link, got } = setup({ loss: 0.1, seed });
      for (let i = 0; i < 20_000; i++) link.enqueue({ bytes: 100, id: i });
      sim.run();
      expect(link.stats.lost + got.length).toBe(20_000);
      return got.map(([, id]) => id);
    };
    const a = run(42);
    const lossRate = 1 - a.length / 20_000;
    expect(lossRate).toBeGreaterThan(0.09);
    expect(lossRate).toBeLessThan(0.11);
    expect(run(42)).toEqual(a);
    expect(run(43)).not.toEqual(a);
  });

  it('ECN-marks only packets arriving above the threshold', () => {
    const { sim, link } = setup({ rateBps: 12e6, ecnThresholdPackets: 3 });
    const pkts: Pkt[] = Array.from({ length: 6 }, (_, id) => ({ bytes: 1500, id }));
    for (const p of pkts) link.enqueue(p);
    // Arrivals see 0,1,2,3,4,5 packets queued; more than 3 means the last two.
    expect(pkts.map((p) => p.ce === true)).toEqual([false, false, false, false, true, true]);
    sim.run();
    // The queue drained: the next arrival is not marked.
    const late: Pkt = { bytes: 1500, id: 7 };
    link.enqueue(late);
    expect(late.ce).toBeUndefined();
    expect(link.stats.marked).toBe(2);

    const byBytes = setup({ rateBps: 12e6, ecnThresholdBytes: 2000 });
    const small: Pkt[] = Array.from({ length: 4 }, (_, id) => ({ bytes: 1000, id }));
    for (const p of small) byBytes.link.enqueue(p);
    expect(small.map((p) => p.ce === true)).toEqual([false, false, false, true]);
  });

  it('records queueing delay samples when asked', () => {
    const { sim, link } = setup({ rateBps: 12e6, recordQueueDelay: true });
    for (let i = 0; i < 3; i++) link.enqueue({ bytes: 1500, id: i });
    sim.run();
    expect(link.queueDelays).toEqual([
      { atUs: 1000, delayUs: 1000 },
      { atUs: 2000, delayUs: 2000 },
      { atUs: 3000, delayUs: 3000 },
    ]);
    expect(link.stats.queueDelaySumUs).toBe(6000);
  });

  it('rejects bad options and bad packets with clear errors', () => {
    const sim = new Simulator();
    expect(() => new Link(sim, { rateBps: 0 }, () => {})).toThrow(/rateBps must be a positive number/);
    expect(() => new Link(sim, { rateBps: 1, trace: constantTrace(1) }, () => {})).toThrow(/either rateBps or trace/);
    expect(() => new Link(sim, { loss: 2 }, () => {})).toThrow(/probability/);
    const link = new Link<Packet>(sim, {}, () => {});
    expect(() => link.enqueue({ bytes: Number.NaN })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('discards everything once closed', () => {
    const { sim, link, got } = setup({ rateBps: 1e6, delayUs: 100 });
    link.enqueue({ bytes: 100, id: 1 });
    link.close();
    expect(link.enqueue({ bytes: 100, id: 2 })).toBe(false);
    sim.run();
    expect(got).toEqual([]);
  });
});
