import { describe, expect, it } from 'vitest';
import { bbr, BbrFlow } from '../../src/algorithms/bbr.js';
import { handle, report } from './helpers.js';

const MSS = 1000;
const MS = 1000;
const HIGH_GAIN = 2 / Math.LN2;

function start() {
  const dp = handle({ mss: MSS, initCwnd: 10 * MSS });
  const flow = new BbrFlow(dp, dp.info);
  return { dp, flow };
}

/** Startup with growing delivery rate, then three flat rounds: ends in DRAIN at t = 500 ms. */
function fillPipe(flow: BbrFlow): void {
  const rates = [1e6, 2e6, 4e6, 4e6, 4e6];
  rates.forEach((rate, i) => {
    flow.onReport(report({ rate, minrtt: 100 * MS, rtt: 100 * MS, acked: 10 * MSS, inflight: 1000 }, i * 100 * MS));
    expect(flow.mode).toBe('startup');
  });
  flow.onReport(report({ rate: 4e6, minrtt: 100 * MS, inflight: 1000 }, 500 * MS));
}

describe('bbr', () => {
  it('installs the generic per-RTT program and keeps cwnd until it has a model', () => {
    const { dp, flow } = start();
    expect(dp.program).toBe('rtt');
    flow.onReport(report({ acked: MSS }, 0));
    expect(dp.cwnd).toBe(10 * MSS);
    expect(dp.rate).toBeUndefined();
    expect(bbr({ report: 'ack' }).name).toBe('bbr');
  });

  it('STARTUP paces at 2/ln2 × the windowed max delivery rate', () => {
    const { dp, flow } = start();
    flow.onReport(report({ rate: 1e6, minrtt: 100 * MS }, 0));
    flow.onReport(report({ rate: 3e6, minrtt: 120 * MS }, 100 * MS));
    flow.onReport(report({ rate: 2e6, minrtt: 110 * MS }, 200 * MS));
    expect(flow.btlBw).toBe(3e6);
    expect(flow.minRtt).toBe(100 * MS);
    expect(dp.rate).toBe(Math.round(HIGH_GAIN * 3e6));
    expect(dp.cwnd).toBe(Math.round(HIGH_GAIN * 3e6 * 0.1));
  });

  it('leaves STARTUP after 3 rounds without 25% growth, DRAINs, then enters PROBE_BW when in-flight fits the BDP', () => {
    const { dp, flow } = start();
    fillPipe(flow);
    expect(flow.mode).toBe('drain');
    expect(dp.rate).toBe(Math.round(4e6 / HIGH_GAIN));
    // BDP = 4e6 B/s × 100 ms = 400 packets.
    flow.onReport(report({ rate: 4e6, minrtt: 100 * MS, inflight: 401 }, 550 * MS));
    expect(flow.mode).toBe('drain');
    flow.onReport(report({ rate: 4e6, minrtt: 100 * MS, inflight: 400 }, 600 * MS));
    expect(flow.mode).toBe('probe_bw');
    expect(dp.cwnd).toBe(2 * 400_000);
    expect(dp.rate).toBe(4e6);
  });

  it('PROBE_BW cycles through the 8 pacing gains, one min RTT each', () => {
    const { dp, flow } = start();
    fillPipe(flow);
    let t = 600 * MS;
    flow.onReport(report({ rate: 4e6, minrtt: 100 * MS, inflight: 0 }, t));
    const rates: number[] = [];
    for (let i = 0; i < 8; i++) {
      t += 101 * MS;
      flow.onReport(report({ rate: 4e6, minrtt: 100 * MS }, t));
      rates.push(dp.rate!);
    }
    // Starts in phase 2; phases 3..7 cruise, then probe up (1.25), drain (0.75), cruise.
    expect(rates).toEqual([4e6, 4e6, 4e6, 4e6, 4e6, 5e6, 3e6, 4e6]);
  });

  it('enters PROBE_RTT (cwnd 4 packets) after 10 s without a lower RTT, and leaves it after 200 ms', () => {
    const { dp, flow } = start();
    fillPipe(flow);
    let t = 600 * MS;
    flow.onReport(report({ rate: 4e6, minrtt: 100 * MS, inflight: 0 }, t));
    while (t < 10_400 * MS) {
      t += 110 * MS;
      flow.onReport(report({ rate: 4e6, minrtt: 120 * MS }, t));
      expect(flow.mode).toBe('probe_bw');
    }
    t += 110 * MS; // more than 10 s since the 100 ms sample at t = 500 ms
    flow.onReport(report({ rate: 4e6, minrtt: 120 * MS }, t));
    expect(flow.mode).toBe('probe_rtt');
    expect(dp.cwnd).toBe(4 * MSS);
    expect(flow.minRtt).toBe(120 * MS);
    flow.onReport(report({ rate: 4e6, minrtt: 120 * MS }, t + 150 * MS));
    expect(flow.mode).toBe('probe_rtt');
    flow.onReport(report({ rate: 4e6, minrtt: 120 * MS }, t + 200 * MS));
    expect(flow.mode).toBe('probe_bw');
    expect(dp.cwnd).toBe(Math.round(2 * 4e6 * 0.12));
  });

  it('forgets bandwidth samples older than 10 rounds', () => {
    const { flow } = start();
    flow.onReport(report({ rate: 8e6, minrtt: 100 * MS }, 0));
    for (let i = 1; i <= 10; i++) flow.onReport(report({ rate: 1e6, minrtt: 100 * MS }, i * 100 * MS));
    expect(flow.btlBw).toBe(1e6);
  });
});
