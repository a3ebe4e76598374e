import { inProcessCcpHost } from '@bertha/ccp';
import { describe, expect, it } from 'vitest';
import { FifoScheduler } from '../../src/bundler/fifo-scheduler.js';
import { Receivebox } from '../../src/bundler/receivebox.js';
import { Sendbox, type BundlePacket } from '../../src/bundler/sendbox.js';
import { heavyTailedRequests, meanRequestBytes, SMALL_MAX } from '../../src/bundler/workload.js';
import { bundlerExperiment } from '../../src/experiments/bundler.js';
import type { ExperimentResult } from '../../src/experiments/experiment.js';
import { Simulator } from '../../src/sim/simulator.js';

function row(r: ExperimentResult, setup: string): Record<string, string | number> {
  const found = r.table.rows.find((x) => x[0] === setup);
  if (found === undefined) throw new Error(`no row ${setup}`);
  return Object.fromEntries(r.table.columns.map((c, i) => [c, found[i]!]));
}

describe('heavy-tailed workload', () => {
  it('97.6 % of requests are at most 10 KB, and the offered load is close to the asked one', () => {
    const rs = heavyTailedRequests({ loadBps: 84e6, durationUs: 60e6, maxBytes: 100e6, seed: 3 });
    const small = rs.filter((r) => r.bytes <= SMALL_MAX).length / rs.length;
    expect(small).toBeGreaterThan(0.97);
    expect(small).toBeLessThan(0.98);
    expect(Math.max(...rs.map((r) => r.bytes))).toBeLessThanOrEqual(100e6);
    // Arrivals follow the mean size exactly; realised bytes vary with the tail.
    expect(rs.length).toBeGreaterThan(0.9 * ((84e6 / 8) * 60) / meanRequestBytes(100e6));
    expect(rs.length).toBeLessThan(1.1 * ((84e6 / 8) * 60) / meanRequestBytes(100e6));
    expect(heavyTailedRequests({ loadBps: 84e6, durationUs: 1e6, seed: 3 })).toEqual(heavyTailedRequests({ loadBps: 84e6, durationUs: 1e6, seed: 3 }));
  });
});

describe('Sendbox', () => {
  it('passes the bundle through unlimited once the agent has not answered for the fallback timeout', () => {
    const sim = new Simulator();
    const host = inProcessCcpHost({ clock: sim, fallbackTimeoutUs: 100_000 });
    host.setAgentReachable(false);
    const out: number[] = [];
    // A receivebox 10 ms away each way: congestion ACKs keep coming, the agent never answers.
    const rx = new Receivebox((fb) => sim.after(10_000, () => box.onFeedback(fb)));
    const box = new Sendbox<BundlePacket>(host, {
      scheduler: new FifoScheduler({ limitBytes: 1e6 }),
      out: (p) => {
        out.push(sim.now());
        sim.after(10_000, () => rx.onPacket(p.header, p.bytes));
      },
      sendPeriod: (n) => rx.setPeriod(n),
      initCwnd: 3000,
    });
    const header = { srcIp: 1, dstIp: 2, srcPort: 3, dstPort: 4, ipId: 0 };
    for (let i = 0; i < 50; i++) box.enqueue({ bytes: 1500, header: { ...header, ipId: i } }, 0);
    sim.run({ untilUs: 90_000 });
    // The initial window (two packets per RTT) holds the rest while the agent might still answer …
    expect(out.length).toBeLessThan(15);
    // … then the datapath falls back, and the sendbox stops limiting.
    sim.run({ untilUs: 400_000 });
    expect(host.datapath.inFallback(1)).toBe(true);
    expect(out.length).toBe(50);
    box.close();
    void host.close();
  });
});

describe('ccp-sim bundler --quick (shapes, not exact figures)', () => {
  it('moves the queue out of the bottleneck; SFQ in the sendbox beats FIFO there; FQ in the network is best', { timeout: 60_000 }, async () => {
    const r = await bundlerExperiment.run({ quick: true });
    const sq = row(r, 'status quo');
    const fq = row(r, 'in-network FQ');
    const sfq = row(r, 'Bundler + SFQ');
    const fifo = row(r, 'Bundler + FIFO');
    expect(fq['median slowdown']).toBeLessThanOrEqual(sq['median slowdown'] as number);
    expect(sfq['median slowdown']).toBeLessThan(fifo['median slowdown'] as number);
    expect(sfq['bottleneck queue (ms)']).toBeLessThan(0.5 * (sq['bottleneck queue (ms)'] as number));
    for (const x of [sq, fq, sfq, fifo]) {
      const [done, total] = String(x.finished).split('/').map(Number);
      expect(done! / total!).toBeGreaterThan(0.95);
    }
    const acc = r.data.accuracy as { rttWithin1_2ms: number; rateWithin4Mbps: number };
    expect(acc.rttWithin1_2ms).toBeGreaterThan(0.5);
    expect(acc.rateWithin4Mbps).toBeGreaterThan(0.5);
    expect(r.charts.map((c) => c.name)).toEqual(['fct-small', 'fct-medium', 'fct-large', 'rtt-error', 'rate-error']);
  });
});
