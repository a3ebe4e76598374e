import { describe, expect, it } from 'vitest';
import { VegasFlow } from '../../src/algorithms/vegas.js';
import { handle, report } from './helpers.js';

const MSS = 1000;

function flowAt(segments: number, ssthresh = segments * MSS) {
  const dp = handle({ mss: MSS, initCwnd: segments * MSS });
  const flow = new VegasFlow(dp, dp.info, { ssthresh });
  flow.baseRtt = 100_000;
  return { dp, flow };
}

describe('vegas', () => {
  it('grows one MSS per RTT while fewer than α packets are queued', () => {
    const { dp, flow } = flowAt(20);
    // diff = 20·(1 − 100/105) = 0.95 < α = 2
    flow.onReport(report({ acked: 20 * MSS, minrtt: 105_000, rtt: 110_000 }));
    expect(flow.diff).toBeCloseTo(20 * (1 - 100 / 105), 9);
    expect(dp.cwnd).toBe(21 * MSS);
  });

  it('holds between α and β', () => {
    const { dp, flow } = flowAt(20);
    // diff = 20·(1 − 100/120) = 3.33
    flow.onReport(report({ acked: 20 * MSS, minrtt: 120_000 }));
    expect(dp.cwnd).toBe(20 * MSS);
  });

  it('shrinks one MSS per RTT above β', () => {
    const { dp, flow } = flowAt(20);
    // diff = 20·(1 − 100/200) = 10 > β = 4
    flow.onReport(report({ acked: 20 * MSS, minrtt: 200_000 }));
    expect(dp.cwnd).toBe(19 * MSS);
  });

  it('steps in proportion to the share of a window acknowledged (per-ACK reports)', () => {
    const { flow } = flowAt(20);
    flow.onReport(report({ acked: 5 * MSS, minrtt: 200_000 }, 0, 'ack'));
    expect(flow.cwnd).toBe(20 * MSS - MSS / 4);
  });

  it('learns the base RTT as the smallest sample', () => {
    const dp = handle({ mss: MSS, initCwnd: 20 * MSS });
    const flow = new VegasFlow(dp, dp.info, { ssthresh: 20 * MSS });
    flow.onReport(report({ acked: MSS, minrtt: 80_000 }));
    flow.onReport(report({ acked: MSS, minrtt: 90_000 }));
    expect(flow.baseRtt).toBe(80_000);
  });

  it('leaves slow start once more than γ packets are queued', () => {
    const { flow } = flowAt(10, Infinity);
    flow.onReport(report({ acked: 10 * MSS, minrtt: 101_000 }));
    expect(flow.cwnd).toBe(20 * MSS); // diff 0.1 ≤ γ: still doubling
    flow.onReport(report({ acked: 20 * MSS, minrtt: 110_000 }));
    // diff = 20·(1 − 100/110) = 1.8 > γ = 1: ssthresh = cwnd, then Vegas's own step (diff < α: +1 MSS)
    expect(flow.ssthresh).toBe(20 * MSS);
    expect(flow.cwnd).toBe(21 * MSS);
  });

  it('halves on loss', () => {
    const { dp, flow } = flowAt(20);
    flow.onReport(report({ loss: 2, minrtt: 100_000 }));
    expect(dp.cwnd).toBe(10 * MSS);
  });
});
