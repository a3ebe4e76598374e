import { describe, expect, it } from 'vitest';
import { copa, CopaFlow } from '../../src/algorithms/copa.js';
import { handle, report } from './helpers.js';

const MSS = 1000;
const MS = 1000;

describe('copa', () => {
  it('targets 1/(δ·d_q): slow start until above target, then steps of v/(δ·cwnd) per ACK with velocity', () => {
    const dp = handle({ mss: MSS, initCwnd: 10 * MSS });
    const flow = new CopaFlow(dp, dp.info);
    // No queueing yet (standing = min RTT): slow start doubles.
    flow.onReport(report({ acked: 10 * MSS, minrtt: 100 * MS }, 0));
    expect(flow.cwnd).toBe(20 * MSS);
    expect(flow.slowStart).toBe(true);
    // standing 150 ms, min 100 ms: d_q = 50 ms, target = 0.15/(0.5·0.05) = 6 packets < 20.
    expect(flow.targetPackets(150 * MS)).toBeCloseTo(6, 9);
    const cwnds: number[] = [];
    const velocities: number[] = [];
    for (let i = 1; i <= 7; i++) {
      flow.onReport(report({ acked: flow.cwnd, minrtt: 150 * MS }, i * 150 * MS));
      cwnds.push(flow.cwnd / MSS);
      velocities.push(flow.velocity);
    }
    expect(flow.slowStart).toBe(false);
    // Each report acks one window, w ACKs of v/(δ·w) each: w² falls by 2·v·w/δ.
    // v doubles once the window has moved the same way for 3 RTTs; the window stops at the target.
    expect(velocities).toEqual([1, 1, 1, 1, 2, 4, 1]);
    let w = 20;
    const expected = [1, 1, 1, 1, 2, 4, 1].map((_, i) => (w = Math.max(Math.sqrt(Math.max(w * w - (2 * [1, 1, 1, 1, 1, 2, 4][i]! * w) / 0.5, 0)), 6)));
    for (let i = 0; i < 7; i++) expect(cwnds[i]).toBeCloseTo(expected[i]!, 9);
    expect(cwnds.slice(5)).toEqual([6, 6]);
    expect(dp.cwnd).toBe(6 * MSS);
    expect(dp.rate).toBe(Math.round((2 * 6 * MSS) / 0.15));
  });

  it('counts delivered packets, not cumulative acks: moves while a hole stalls them, no jump when it fills', () => {
    const dp = handle({ mss: MSS, initCwnd: 40 * MSS });
    const flow = new CopaFlow(dp, dp.info);
    flow.onReport(report({ acked: MSS, minrtt: 100 * MS }, 0));
    // Queueing: target 6 packets. A hole stalls the cumulative ACK while 30 packets are SACKed.
    for (let i = 1; i <= 3; i++) flow.onReport(report({ sacked: 10, minrtt: 150 * MS }, i * 10 * MS));
    const duringHole = flow.cwnd / MSS;
    expect(duringHole).toBeLessThan(41);
    // The retransmission fills the hole: the cumulative ACK covers it and the 30 SACKed packets, one new delivery.
    flow.onReport(report({ acked: 31 * MSS, minrtt: 150 * MS }, 40 * MS));
    const afterFill = flow.cwnd / MSS;
    // One more ACK's step (v/(δ·w) < 1 packet), not 31.
    expect(duringHole - afterFill).toBeGreaterThan(0);
    expect(duringHole - afterFill).toBeLessThan(1);
  });

  it('does not overshoot from a small window when many ACKs arrive at once', () => {
    const dp = handle({ mss: MSS, initCwnd: 2 * MSS });
    const flow = new CopaFlow(dp, dp.info);
    flow.slowStart = false;
    flow.onReport(report({ acked: MSS, minrtt: 100 * MS }, 0));
    // Standing 150 ms against min 100 ms: target 6. 1000 delivered packets move the window to the target, not past it.
    flow.onReport(report({ acked: 1000 * MSS, minrtt: 150 * MS }, 150 * MS));
    expect(flow.cwnd / MSS).toBeCloseTo(6, 9);
  });

  it('ignores reports without an RTT sample', () => {
    const dp = handle({ mss: MSS, initCwnd: 10 * MSS });
    const flow = new CopaFlow(dp, dp.info);
    flow.onReport(report({ acked: 5 * MSS }, 0));
    expect(flow.cwnd).toBe(10 * MSS);
    expect(dp.updates).toHaveLength(0);
  });

  it('with a larger δ targets a smaller window', () => {
    const dp = handle({ mss: MSS });
    const flow = new CopaFlow(dp, dp.info, { delta: 1 });
    flow.onReport(report({ acked: MSS, minrtt: 100 * MS }, 0));
    expect(flow.targetPackets(150 * MS)).toBeCloseTo(3, 9);
  });

  it('holdWhenAppLimited: keeps cwnd while under half of it is in flight, still shrinks it, and grows again once the window is used', () => {
    const run = (hold: boolean, inflight: number): number => {
      const dp = handle({ mss: MSS, initCwnd: 100 * MSS });
      const flow = new CopaFlow(dp, dp.info, { holdWhenAppLimited: hold });
      flow.slowStart = false;
      // No queueing (standing = min RTT): the target is unbounded, so Copa would grow.
      for (let i = 0; i < 5; i++) flow.onReport(report({ acked: 10 * MSS, minrtt: 100 * MS, inflight }, i * 100 * MS));
      return flow.cwnd / MSS;
    };
    expect(run(false, 10)).toBeGreaterThan(100);
    expect(run(true, 10)).toBe(100);
    expect(run(true, 60)).toBeGreaterThan(100);
    // Between half and three quarters of the window in flight it grows, without building velocity.
    const velocity = (hold: boolean): number => {
      const dp = handle({ mss: MSS, initCwnd: 100 * MSS });
      const flow = new CopaFlow(dp, dp.info, { holdWhenAppLimited: hold });
      flow.slowStart = false;
      for (let i = 0; i < 8; i++) flow.onReport(report({ acked: 60 * MSS, minrtt: 100 * MS, inflight: 60 }, i * 100 * MS));
      return flow.velocity;
    };
    expect(velocity(false)).toBeGreaterThan(1);
    expect(velocity(true)).toBe(1);
    // Queueing: the window still falls towards the target while application-limited.
    const dp = handle({ mss: MSS, initCwnd: 100 * MSS });
    const flow = new CopaFlow(dp, dp.info, { holdWhenAppLimited: true });
    flow.slowStart = false;
    flow.onReport(report({ acked: MSS, minrtt: 100 * MS, inflight: 10 }, 0));
    flow.onReport(report({ acked: 10 * MSS, minrtt: 150 * MS, inflight: 10 }, 150 * MS));
    expect(flow.cwnd / MSS).toBeLessThan(100);
  });

  it('deliveryBounds: a report cannot take cwnd below low or above high × delivery rate × min RTT', () => {
    const run = (bounds: readonly [number, number] | undefined, minrtt: number, acked: number): number => {
      const dp = handle({ mss: MSS, initCwnd: 100 * MSS });
      const flow = new CopaFlow(dp, dp.info, { deliveryBounds: bounds });
      flow.slowStart = false;
      flow.velocity = 64;
      flow.onReport(report({ acked: MSS, minrtt: 100 * MS, rate: 1000 * MSS }, 0));
      // Delivered 1000 packets/s over a 100 ms min RTT: 100 packets' worth.
      flow.onReport(report({ acked, minrtt, rate: 1000 * MSS }, 150 * MS));
      return flow.cwnd / MSS;
    };
    // Queueing (target 6) with a large velocity: plain Copa falls to the target in one report.
    expect(run(undefined, 150 * MS, 100 * MSS)).toBe(6);
    expect(run([0.5, 2], 150 * MS, 100 * MSS)).toBe(50);
    // No queueing: the target is unbounded; growth stops at twice what was delivered.
    expect(run(undefined, 100 * MS, 200 * MSS)).toBeGreaterThan(200);
    expect(run([0.5, 2], 100 * MS, 200 * MSS)).toBe(200);
  });

  it('pacingGain: after slow start the rate is gain × cwnd / standing RTT; slow start paces at 2', () => {
    const dp = handle({ mss: MSS, initCwnd: 10 * MSS });
    const flow = new CopaFlow(dp, dp.info, { pacingGain: 1 });
    flow.onReport(report({ acked: 10 * MSS, minrtt: 100 * MS }, 0));
    expect(flow.slowStart).toBe(true);
    expect(dp.rate).toBe(Math.round((2 * flow.cwnd * 1e6) / (100 * MS)));
    flow.onReport(report({ acked: 10 * MSS, minrtt: 150 * MS }, 150 * MS));
    expect(flow.slowStart).toBe(false);
    expect(dp.rate).toBe(Math.round((flow.cwnd * 1e6) / (150 * MS)));
  });

  it('deliveryBounds do not limit slow start', () => {
    const dp = handle({ mss: MSS, initCwnd: 100 * MSS });
    const flow = new CopaFlow(dp, dp.info, { deliveryBounds: [0.5, 2] });
    // Delivered 100 packets/s over a 100 ms min RTT: 10 packets' worth; slow start still doubles.
    flow.onReport(report({ acked: 100 * MSS, minrtt: 100 * MS, rate: 100 * MSS }, 0));
    expect(flow.cwnd).toBe(200 * MSS);
  });

  it('refuses delivery bounds out of order and a pacing gain that is not positive', () => {
    expect(() => copa({ deliveryBounds: [2, 0.5] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => copa({ deliveryBounds: [-1, 2] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => copa({ pacingGain: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(copa({ deliveryBounds: [0.5, 2], pacingGain: 1 }).name).toBe('copa');
  });
});
