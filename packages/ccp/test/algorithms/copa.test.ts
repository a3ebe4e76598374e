import { describe, expect, it } from 'vitest';
import { CopaFlow } from '../../src/algorithms/copa.js';
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
    // Each report acks one window: the step is cwnd·v/(δ·cwnd) = 2v packets.
    // v doubles once the window has moved the same way for 3 RTTs; it resets when the direction flips.
    expect(cwnds).toEqual([18, 16, 14, 12, 10, 6, 14]);
    expect(velocities).toEqual([1, 1, 1, 1, 2, 4, 1]);
    expect(dp.cwnd).toBe(14 * MSS);
    expect(dp.rate).toBe(Math.round((2 * 14 * MSS) / 0.15));
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
});
