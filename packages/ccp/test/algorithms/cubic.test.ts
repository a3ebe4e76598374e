import { describe, expect, it } from 'vitest';
import { CubicFlow } from '../../src/algorithms/cubic.js';
import { handle, report } from './helpers.js';

const MSS = 1000;
const C = 0.4;
const BETA = 0.7;
const ALPHA = (3 * (1 - BETA)) / (1 + BETA);

/** A flow in congestion avoidance at `segments` segments. */
function flowAt(segments: number) {
  const dp = handle({ mss: MSS, initCwnd: segments * MSS });
  return { dp, flow: new CubicFlow(dp, dp.info, { ssthresh: segments * MSS }) };
}

describe('cubic', () => {
  it('on loss remembers W_max and multiplies cwnd by β', () => {
    const { dp, flow } = flowAt(100);
    flow.onReport(report({ loss: 1 }));
    expect(flow.wMax).toBe(100);
    expect(dp.cwnd).toBe(70 * MSS);
    expect(flow.ssthresh).toBe(70 * MSS);
  });

  it('starts the epoch with K = cbrt(W_max(1-β)/C) and follows W(t) = C(t-K)³ + W_max', () => {
    const { flow } = flowAt(100);
    flow.onReport(report({ loss: 1 }));
    const t0 = 5_000_000;
    const rtt = 100_000;
    // Recovery over (a report without ACKs), then the first CA report: the epoch starts with
    // the first ACK it counts (here, all at t0); the cubic curve is flat, so the Reno-friendly estimate wins.
    flow.onReport(report({ rtt }, t0));
    flow.onReport(report({ acked: 70 * MSS, rtt }, t0));
    const k = Math.cbrt((100 * (1 - BETA)) / C);
    expect(flow.k).toBeCloseTo(k, 9);
    expect(flow.epochStart).toBe(t0);
    let wEst = 70 + ALPHA;
    expect(flow.cwnd / MSS).toBeCloseTo(wEst, 9);

    // Three seconds later the cubic curve is above the estimate: cwnd moves toward W(t + RTT).
    const cwnd = flow.cwnd / MSS;
    wEst += (ALPHA * 70) / cwnd;
    const wAt = (t: number) => C * (t - k) ** 3 + 100;
    expect(wAt(3)).toBeGreaterThan(wEst);
    const target = wAt(3 + rtt / 1e6);
    flow.onReport(report({ acked: 70 * MSS, rtt }, t0 + 3_000_000));
    expect(flow.cwnd / MSS).toBeCloseTo(cwnd + (70 * (target - cwnd)) / cwnd, 9);
    expect(flow.wEst).toBeCloseTo(wEst, 9);
  });

  it('caps growth per window at 1.5·cwnd', () => {
    const { flow } = flowAt(100);
    flow.onReport(report({ loss: 1 }));
    flow.onReport(report({ rtt: 100_000 }, 100_000)); // recovery over
    flow.onReport(report({ acked: 70 * MSS, rtt: 100_000 }, 100_000));
    const cwnd = flow.cwnd / MSS;
    // 30 s into the epoch W(t) is far above 1.5·cwnd.
    flow.onReport(report({ acked: 70 * MSS, rtt: 100_000 }, 30_000_000));
    expect(flow.cwnd / MSS).toBeCloseTo(cwnd + (70 * (1.5 * cwnd - cwnd)) / cwnd, 9);
  });

  it('fast convergence lowers W_max when a loss comes below the previous W_max', () => {
    const { flow } = flowAt(100);
    flow.onReport(report({ loss: 1 }));
    flow.onReport(report({ acked: 2 * MSS }));
    expect(flow.cwnd / MSS).toBeLessThan(100);
    const before = flow.cwnd / MSS;
    flow.onReport(report({ loss: 1 }));
    expect(flow.wMax).toBeCloseTo((before * (1 + BETA)) / 2, 9);
    expect(flow.cwnd / MSS).toBeCloseTo(before * BETA, 9);
  });

  it('without fast convergence W_max is the window at the loss', () => {
    const dp = handle({ mss: MSS, initCwnd: 100 * MSS });
    const flow = new CubicFlow(dp, dp.info, { ssthresh: 100 * MSS, fastConvergence: false });
    flow.onReport(report({ loss: 1 }));
    flow.onReport(report({ acked: 2 * MSS }));
    const before = flow.cwnd / MSS;
    flow.onReport(report({ loss: 1 }));
    expect(flow.wMax).toBeCloseTo(before, 9);
  });

  it('probes from the current window (K = 0) when above W_max', () => {
    const { flow } = flowAt(50);
    flow.onReport(report({ acked: 50 * MSS, rtt: 10_000 }, 1_000_000));
    expect(flow.k).toBe(0);
    // With no W_max yet the estimate grows like Reno (α = 1).
    expect(flow.wEst).toBeCloseTo(51, 9);
  });

  it('a timeout ends the epoch', () => {
    const { flow } = flowAt(100);
    flow.onReport(report({ acked: 10 * MSS, rtt: 10_000 }, 1));
    expect(flow.epochStart).toBe(1);
    flow.onReport(report({ timeout: 1 }));
    expect(flow.epochStart).toBeUndefined();
    expect(flow.cwnd).toBe(100 * MSS);
  });
});
