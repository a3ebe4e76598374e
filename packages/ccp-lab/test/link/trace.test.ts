import { describe, expect, it } from 'vitest';
import { Link, type Packet } from '../../src/link/link.js';
import { loadTrace, parseTrace, shippedTrace, TRACE_MTU_BYTES } from '../../src/link/trace.js';
import { Simulator } from '../../src/sim/simulator.js';

describe('mahimahi traces', () => {
  it('parses the Verizon LTE downlink and computes its mean rate', async () => {
    const trace = await loadTrace(shippedTrace('Verizon-LTE-short.down'));
    expect(trace.name).toBe('Verizon-LTE-short.down');
    expect(trace.length).toBe(58_655);
    expect(trace.periodMs).toBe(140_000);
    expect(trace.meanRateBps).toBeCloseTo((58_655 * 1500 * 8) / 140, 6);
    // About 5 Mbit/s.
    expect(trace.meanRateBps / 1e6).toBeGreaterThan(4.9);
    expect(trace.meanRateBps / 1e6).toBeLessThan(5.1);
  });

  it('repeats after its last timestamp', () => {
    const trace = parseTrace('0\n0\n3\n\n5\n');
    expect(trace.periodMs).toBe(5);
    const times = Array.from({ length: 9 }, (_, k) => trace.opportunityUs(k) / 1000);
    expect(times).toEqual([0, 0, 3, 5, 5, 5, 8, 10, 10]);
    expect(trace.firstAtOrAfter(4_000)).toBe(3);
    expect(trace.firstAtOrAfter(5_000)).toBe(3);
    expect(trace.firstAtOrAfter(5_001)).toBe(6);
    expect(trace.countBetween(0, 5_000)).toBe(6);
  });

  it('rejects malformed traces with the line at fault', async () => {
    expect(() => parseTrace('1\n2\nabc\n', 't')).toThrow(/line 3/);
    expect(() => parseTrace('5\n3\n')).toThrow(/must not decrease/);
    expect(() => parseTrace('\n')).toThrow(expect.objectContaining({ code: 'ERR_CCP_TRACE' }));
    await expect(loadTrace('/nonexistent/trace')).rejects.toMatchObject({ code: 'ERR_CCP_TRACE' });
  });

  it('drives a link: one 1500-byte packet per opportunity, unused ones lost', () => {
    const sim = new Simulator();
    const got: [number, number][] = [];
    // Opportunities at 1, 1, 2, 4 ms, repeating every 4 ms.
    const link = new Link<Packet & { id: number }>(sim, { trace: parseTrace('1\n1\n2\n4'), delayUs: 10 }, (p) => got.push([sim.now(), p.id]));
    for (let id = 0; id < 5; id++) link.enqueue({ bytes: 1500, id });
    sim.run({ untilUs: 6_000 });
    expect(got).toEqual([
      [1_010, 0],
      [1_010, 1],
      [2_010, 2],
      [4_010, 3],
      [5_010, 4],
    ]);
    // Idle from 5 ms to 9.5 ms: those opportunities are gone; 750-byte packets share one.
    sim.at(9_500, () => {
      link.enqueue({ bytes: 750, id: 5 });
      link.enqueue({ bytes: 750, id: 6 });
      link.enqueue({ bytes: 3000, id: 7 });
    });
    sim.run();
    expect(got.slice(5)).toEqual([
      [10_010, 5],
      [10_010, 6],
      [13_010, 7],
    ]);
  });

  it('carries the trace mean rate when saturated', async () => {
    const trace = await loadTrace(shippedTrace('Verizon-LTE-short.down'));
    const sim = new Simulator();
    let bytes = 0;
    const link = new Link<Packet>(sim, { trace }, (p) => (bytes += p.bytes));
    const refill = (): void => {
      while (link.queuePackets < 200) link.enqueue({ bytes: TRACE_MTU_BYTES });
      sim.after(1000, refill);
    };
    refill();
    // Two periods, the second replaying the first; the trace starts with two opportunities at 0 ms,
    // so the third period's first two fall on the end time and count too.
    const end = 2 * trace.periodMs * 1000;
    sim.run({ untilUs: end });
    expect(trace.countBetween(0, end)).toBe(2 * trace.length + 2);
    expect(bytes).toBe((2 * trace.length + 2) * TRACE_MTU_BYTES);
    expect(link.utilisation()).toBe(1);
  });
});
