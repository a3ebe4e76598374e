import { mulberry32 } from '@bertha/core';
import { makeReport, recordingHandle, flowInfo } from '@bertha/ccp/testing';
import { describe, expect, it } from 'vitest';
import { LinkRateEstimator } from '../../src/nimbus/link-rate.js';
import { nimbus } from '../../src/nimbus/nimbus.js';

const STEP_US = 10_000;
/** 48 Mbit/s of payload, bytes/s. */
const MU = 6e6;

describe('LinkRateEstimator (max receive rate over a window)', () => {
  it('converges to the link rate: a ramp up, then a shared link, with noise, never above μ', () => {
    const rand = mulberry32(3);
    const est = new LinkRateEstimator({ windowUs: 10_000_000 });
    for (let i = 0; i < 2500; i++) {
      const t = i * STEP_US;
      // Slow start to μ over 0.5 s, alone until 2 s, then sharing with 40 % cross traffic.
      const alone = Math.min(MU, 2e5 * 2 ** (t / 100_000));
      const r = t < 2e6 ? alone : MU * (0.6 + 0.05 * (rand() - 0.5));
      est.add(t, Math.min(r * (1 - 0.02 * rand()), MU));
      if (t >= 1e6 && t < 11e6) expect(est.rate).toBeGreaterThan(0.97 * MU);
      expect(est.rate).toBeLessThanOrEqual(MU);
    }
    // The limit of the method: a window after the flow last had the link alone, μ̂ is only its share.
    expect(est.rate).toBeLessThan(0.65 * MU);
  });

  it('follows a rate change: up at once, down once the higher rates leave the window', () => {
    const est = new LinkRateEstimator({ windowUs: 5_000_000 });
    const seen: [number, number][] = [];
    for (let t = 0; t <= 20e6; t += STEP_US) {
      // The link runs at μ, halves at 5 s, and doubles again at 15 s.
      const link = t < 5e6 || t >= 15e6 ? MU : MU / 2;
      seen.push([t, est.add(t, link)]);
    }
    const at = (s: number): number => seen.find(([t]) => t >= s * 1e6)![1];
    expect(at(4.99)).toBe(MU);
    // Within the window of the last full-rate sample, the estimate holds.
    expect(at(9.9)).toBe(MU);
    expect(at(10.01)).toBe(MU / 2);
    expect(at(14.99)).toBe(MU / 2);
    expect(at(15)).toBe(MU);
  });

  it('keeps its newest rate when samples stop, ignores rates that are not positive and finite', () => {
    const est = new LinkRateEstimator({ windowUs: 1_000_000 });
    expect(est.rate).toBe(0);
    est.add(0, 0);
    est.add(1, Number.NaN);
    est.add(2, Infinity);
    expect(est.rate).toBe(0);
    est.add(3, 5e6);
    est.add(10e6, 0);
    expect(est.rate).toBe(5e6);
    est.add(11e6, 1e6);
    expect(est.rate).toBe(1e6);
  });

  it('rejects a window that is not a positive number of µs', () => {
    expect(() => new LinkRateEstimator({ windowUs: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/window/) }));
    expect(() => nimbus({ linkRate: { windowUs: -1 } })).toThrow(/window/);
  });
});

/**
 * Nimbus alone on a fluid link: packets sent at time t join the bottleneck
 * queue at once, leave it at μ, and are acknowledged BASE_US later. Reports
 * every 10 ms carry what the ACKs of that step say.
 */
function aloneOnLink(seconds: number, options: Parameters<typeof nimbus>[0] = {}, link: (tUs: number) => number = () => MU): { flow: ReturnType<ReturnType<typeof nimbus>['newFlow']>; queueUs: number[] } {
  const BASE_US = 50_000;
  const lag = BASE_US / STEP_US;
  const info = flowInfo();
  const algo = nimbus(options);
  const handle = recordingHandle(algo.programs, info);
  const flow = algo.newFlow(handle, info);
  let queue = 0;
  const departed: number[] = [];
  const delays: number[] = [];
  const queueUs: number[] = [];
  for (let i = 1; i <= (seconds * 1e6) / STEP_US; i++) {
    const t = i * STEP_US;
    const mu = link(t);
    const sent = ((handle.rate ?? 0) * STEP_US) / 1e6;
    const out = Math.min(queue + sent, (mu * STEP_US) / 1e6);
    queue += sent - out;
    departed.push(out);
    delays.push((queue / mu) * 1e6);
    queueUs.push((queue / mu) * 1e6);
    if (i <= lag) continue;
    const acked = departed[i - 1 - lag]!;
    const rtt = Math.round(BASE_US + delays[i - 1 - lag]!);
    const fields = { acked, sacked: 0, loss: 0, timeout: 0, rtt, minrtt: rtt, inflight: 0, ecn: 0, rate: (acked * 1e6) / STEP_US, cwnd: handle.cwnd ?? 0, now: t };
    flow.onReport(makeReport(handle.program ?? 'interval', fields, { flow: info, time: t }));
  }
  return { flow, queueUs };
}

describe('Nimbus estimates μ itself', () => {
  it('starts up to the link rate, finds μ, and holds the queue near its target with no cross traffic', () => {
    const { flow, queueUs } = aloneOnLink(8);
    expect(flow.linkRate).toBeGreaterThan(0.99 * MU);
    expect(flow.linkRate).toBeLessThanOrEqual(MU);
    expect(flow.mode).toBe('delay');
    // Over the last 2 s the queue stays near the 15 ms target, and the link busy.
    const tail = queueUs.slice(-200);
    expect(Math.min(...tail)).toBeGreaterThan(1_000);
    expect(Math.max(...tail)).toBeLessThan(30_000);
  });

  it('follows the link down once the faster rates leave its window, and keeps the queue low there too', () => {
    const { flow, queueUs } = aloneOnLink(10, { linkRate: { windowUs: 2_000_000 } }, (t) => (t < 4e6 ? MU : MU / 2));
    expect(flow.linkRate).toBeGreaterThan(0.49 * MU);
    expect(flow.linkRate).toBeLessThanOrEqual(MU / 2);
    expect(Math.max(...queueUs.slice(-200))).toBeLessThan(30_000);
    expect(flow.mode).toBe('delay');
  });

  it('uses a pinned μ as given', () => {
    const { flow } = aloneOnLink(2, { bottleneckBps: 8 * MU * 0.9 });
    expect(flow.linkRate).toBe(MU * 0.9);
  });
});
