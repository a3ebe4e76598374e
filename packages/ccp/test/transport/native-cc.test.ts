import { describe, expect, it } from 'vitest';
import { CubicFlow } from '../../src/algorithms/cubic.js';
import { RenoFlow } from '../../src/algorithms/reno.js';
import type { WindowFlow } from '../../src/algorithms/window.js';
import { NativeCongestionControl, type NativeAckInput } from '../../src/transport/native-cc.js';
import { handle, report } from '../algorithms/helpers.js';

const MSS = 1000;
const RTT = 10_000;

const ack = (nowUs: number, extra: Partial<NativeAckInput> = {}): NativeAckInput => ({
  nowUs,
  ackedBytes: MSS,
  ackedSentUs: nowUs - RTT,
  lostPackets: 0,
  lostSentUs: -Infinity,
  srttUs: RTT,
  rttUs: RTT,
  ...extra,
});

describe('native congestion control: loss recovery (RFC 9002 §7.3.2)', () => {
  it('cuts once for the losses of one flight, again for a lost packet sent after the cut', () => {
    const cc = new NativeCongestionControl('reno', MSS, 100 * MSS, 100 * MSS, 100 * MSS);
    cc.onAck(ack(1_000_000, { ackedBytes: 0, lostPackets: 1, lostSentUs: 990_000 }));
    expect(cc.cwnd).toBe(50 * MSS);
    // More packets of the same flight (sent before the cut) are found lost: same episode.
    cc.onAck(ack(1_005_000, { ackedBytes: 0, lostPackets: 3, lostSentUs: 999_000 }));
    expect(cc.cwnd).toBe(50 * MSS);
    // A retransmission (sent after the cut) is lost: the window was still too large, cut again.
    cc.onAck(ack(1_012_000, { ackedBytes: 0, lostPackets: 1, lostSentUs: 1_001_000 }));
    expect(cc.cwnd).toBe(25 * MSS);
  });

  it('does not grow on ACKs of packets sent before the recovery period began', () => {
    const cc = new NativeCongestionControl('reno', MSS, 10 * MSS, 40 * MSS, 40 * MSS);
    cc.onAck(ack(1_000_000, { ackedBytes: 0, lostPackets: 1, lostSentUs: 995_000 }));
    expect(cc.cwnd).toBe(20 * MSS);
    cc.onAck(ack(1_005_000, { ackedSentUs: 999_000 }));
    expect(cc.cwnd).toBe(20 * MSS);
    cc.onAck(ack(1_011_000, { ackedSentUs: 1_001_000 }));
    expect(cc.cwnd).toBeCloseTo(20 * MSS + MSS / 20, 9);
  });

  it('after a timeout, losses of packets sent since start a new recovery period', () => {
    const cc = new NativeCongestionControl('reno', MSS, 10 * MSS, 40 * MSS, 40 * MSS);
    cc.onTimeout(1_000_000);
    expect(cc.cwnd).toBe(10 * MSS);
    cc.onAck(ack(1_001_000, { ackedBytes: 0, lostPackets: 1, lostSentUs: 999_000 }));
    expect(cc.cwnd).toBe(10 * MSS);
    cc.onAck(ack(1_020_000, { ackedBytes: 0, lostPackets: 1, lostSentUs: 1_005_000 }));
    expect(cc.cwnd).toBe(5 * MSS);
  });
});

/**
 * The same ACK stream (one ACK of one packet every 200 µs, losses at fixed
 * times), one ACK per report for the agent: native and agent must agree.
 */
function compare(algorithm: 'reno' | 'cubic', makeFlow: (dp: ReturnType<typeof handle>) => WindowFlow): number {
  const dp = handle({ mss: MSS, initCwnd: 10 * MSS });
  const agent = makeFlow(dp);
  const native = new NativeCongestionControl(algorithm, MSS, 10 * MSS);
  // A loss, one more of the same flight, one of a packet sent after the cut, and later single ones.
  const losses = new Set([300_037, 304_037, 314_037, 2_000_037, 3_000_037]);
  let worst = 0;
  for (let t = 37; t < 4_000_000; t += 200) {
    const lost = losses.has(t) ? 1 : 0;
    native.onAck(ack(t, { lostPackets: lost, lostSentUs: lost > 0 ? t - RTT - 1 : -Infinity }));
    agent.onReport(report({ acked: MSS, loss: lost, rtt: RTT, minrtt: RTT }, t, 'ack'));
    worst = Math.max(worst, Math.abs(agent.cwnd - native.cwnd) / native.cwnd);
  }
  return worst;
}

describe('native and agent algorithms: the same mathematics', () => {
  it('Reno: the same window ACK for ACK, through slow start, loss episodes and congestion avoidance', () => {
    expect(compare('reno', (dp) => new RenoFlow(dp, dp.info, { report: 'ack' }))).toBeLessThan(1e-9);
  });

  it('Cubic: the same window ACK for ACK (epoch start, W_max, fast convergence, Reno-friendly region)', () => {
    expect(compare('cubic', (dp) => new CubicFlow(dp, dp.info, { report: 'ack' }))).toBeLessThan(1e-9);
  });
});
