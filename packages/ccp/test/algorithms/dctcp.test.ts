import { describe, expect, it } from 'vitest';
import { DctcpFlow } from '../../src/algorithms/dctcp.js';
import { handle, report } from './helpers.js';

const MSS = 1448;
const CWND = 100 * MSS;

function flow() {
  const dp = handle({ mss: MSS, initCwnd: CWND });
  return { dp, flow: new DctcpFlow(dp, dp.info, { ssthresh: CWND }) };
}

describe('dctcp', () => {
  it('updates α = (1 − g)α + g·F at the end of each window and cuts cwnd by α/2 when marked', () => {
    const { dp, flow: f } = flow();
    f.onReport(report({ acked: CWND, ecn: CWND / 10 }));
    const alpha = (15 / 16) * 1 + (1 / 16) * 0.1;
    expect(f.alpha).toBeCloseTo(alpha, 12);
    expect(f.cwnd).toBeCloseTo(CWND * (1 - alpha / 2), 6);
    expect(dp.cwnd).toBe(Math.round(CWND * (1 - alpha / 2)));
  });

  it('accumulates marks over the window before reacting, and grows like Reno meanwhile', () => {
    const { flow: f } = flow();
    f.onReport(report({ acked: CWND / 2, ecn: MSS }));
    expect(f.alpha).toBe(1);
    expect(f.cwnd).toBeCloseTo(CWND + (MSS * (CWND / 2)) / CWND, 6);
    const before = f.cwnd;
    f.onReport(report({ acked: CWND / 2 }));
    const alpha = 15 / 16 + (1 / 16) * (MSS / CWND);
    expect(f.alpha).toBeCloseTo(alpha, 12);
    expect(f.cwnd).toBeCloseTo(before * (1 - alpha / 2), 6);
  });

  it('decays α in unmarked windows without cutting cwnd', () => {
    const { flow: f } = flow();
    f.onReport(report({ acked: CWND }));
    expect(f.alpha).toBeCloseTo(15 / 16, 12);
    expect(f.cwnd).toBeCloseTo(CWND + MSS, 6);
  });

  it('halves on loss like Reno', () => {
    const { dp, flow: f } = flow();
    f.onReport(report({ loss: 1 }));
    expect(dp.cwnd).toBe(CWND / 2);
  });
});
