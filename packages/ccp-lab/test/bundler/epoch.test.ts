import { describe, expect, it } from 'vitest';
import { EpochMeter, type EpochEstimate } from '../../src/bundler/epoch-meter.js';
import { checkPeriod, headerHash, isBoundary, periodFor, type InvariantHeader } from '../../src/bundler/header-hash.js';
import { Receivebox, type EpochFeedback } from '../../src/bundler/receivebox.js';
import { Simulator } from '../../src/sim/simulator.js';

const PKT = 1500;

/** Packets of a few flows, as a site sends them: each flow's IP ID counts up. */
function headers(n: number): InvariantHeader[] {
  const ids = [0, 0, 0, 0];
  return Array.from({ length: n }, (_, i) => {
    const f = i % 4;
    const ipId = ids[f]!;
    ids[f] = (ipId + 1) & 0xffff;
    return { srcIp: 0x0a000001 + f, dstIp: 0x0a010001, srcPort: 4000 + f, dstPort: 443, ipId };
  });
}

function boxes(period: number): { meter: EpochMeter; rx: Receivebox; fbs: EpochFeedback[] } {
  const fbs: EpochFeedback[] = [];
  return { meter: new EpochMeter({ initialPeriod: period }), rx: new Receivebox((fb) => fbs.push(fb), { initialPeriod: period }), fbs };
}

describe('epoch boundaries', () => {
  it('both boxes pick the same packets as boundaries, about one in N', () => {
    const hs = headers(20_000);
    const { meter, rx, fbs } = boxes(16);
    const sent = new Set<number>();
    hs.forEach((h, i) => {
      if (meter.onSend(h, PKT, i) !== undefined) sent.add(i);
      rx.onPacket(h, PKT);
    });
    const seen = hs.flatMap((h, i) => (isBoundary(headerHash(h), 16) ? [i] : []));
    expect([...sent]).toEqual(seen);
    expect(fbs.map((f) => f.hash)).toEqual(seen.map((i) => headerHash(hs[i]!)));
    expect(sent.size).toBeGreaterThan(20_000 / 16 / 2);
    expect(sent.size).toBeLessThan((20_000 / 16) * 2);
  });

  it('boundaries under a larger period are a subset of those under a smaller one (nested)', () => {
    const hashes = headers(50_000).map(headerHash);
    let larger = 0;
    let violations = 0;
    for (let n = 1; n < 1024; n *= 2) {
      for (const h of hashes) {
        if (!isBoundary(h, 2 * n)) continue;
        larger++;
        if (!isBoundary(h, n)) violations++;
      }
    }
    expect(larger).toBeGreaterThan(1000);
    expect(violations).toBe(0);
  });

  it('a sampling period is a power of two; about a quarter of a BDP in packets', () => {
    expect(() => checkPeriod(12)).toThrow(/power of two/);
    expect(() => checkPeriod(0)).toThrow(/power of two/);
    // 0.25 × 50 ms × 12 MB/s / 1500 B = 100 packets → 128.
    expect(periodFor(50_000, 12e6, 1500)).toBe(128);
    expect(periodFor(50_000, 0, 1500)).toBe(1);
  });
});

describe('EpochMeter with a Receivebox', () => {
  /** 12 MB/s (96 Mbit/s) of 1500-byte packets over 25 ms each way. */
  const GAP = 125;
  const DELAY = 25_000;

  function wired(period: number): { meter: EpochMeter; rx: Receivebox; pending: EpochFeedback[] } {
    const pending: EpochFeedback[] = [];
    return { meter: new EpochMeter({ initialPeriod: period }), rx: new Receivebox((fb) => pending.push(fb), { initialPeriod: period }), pending };
  }

  /** Drives a stream on a simulator; feedback crosses back in `DELAY`. */
  function stream(n: number, w: ReturnType<typeof wired>, opts: { drop?: (i: number) => boolean; late?: ReadonlyMap<number, number>; at?: (i: number) => void } = {}): EpochEstimate[] {
    const sim = new Simulator();
    const out: EpochEstimate[] = [];
    headers(n).forEach((h, i) => {
      sim.at(i * GAP, () => {
        opts.at?.(i);
        w.meter.onSend(h, PKT, sim.now());
        if (opts.drop?.(i) === true) return;
        sim.after(DELAY + (opts.late?.get(i) ?? 0), () => {
          w.rx.onPacket(h, PKT);
          for (const fb of w.pending.splice(0)) {
            sim.after(DELAY, () => {
              const e = w.meter.onFeedback(fb, sim.now());
              if (e !== undefined) out.push(e);
            });
          }
        });
      });
    });
    sim.run();
    return out;
  }

  it('measures the RTT and both rates of a steady stream', () => {
    const w = wired(32);
    const est = stream(8000, w);
    expect(est.length).toBeGreaterThan(100);
    for (const e of est) expect(e.rttUs).toBeCloseTo(2 * DELAY, 0);
    const late = est.slice(est.length / 2);
    for (const e of late) {
      expect(e.sendRate).toBeGreaterThan(12e6 * 0.97);
      expect(e.sendRate).toBeLessThan(12e6 * 1.03);
      expect(e.recvRate).toBeGreaterThan(12e6 * 0.97);
      expect(e.recvRate).toBeLessThan(12e6 * 1.03);
    }
    expect(w.meter.stats.unmatched).toBe(0);
    expect(w.meter.stats.skipped).toBe(0);
  });

  it('a lost boundary packet only lengthens an epoch; the lost bytes show up', () => {
    const hs = headers(8000);
    const boundaries = hs.flatMap((h, i) => (isBoundary(headerHash(h), 32) ? [i] : []));
    const lost = boundaries[50]!;
    const w = wired(32);
    const est = stream(8000, w, { drop: (i) => i === lost });
    expect(w.meter.stats.skipped).toBe(1);
    expect(w.meter.stats.unmatched).toBe(0);
    // The estimate after the loss spans two epochs and reports one packet lost.
    const after = est.find((e) => e.lostBytes > 0);
    expect(after?.lostBytes).toBe(PKT);
    for (const e of est) expect(e.rttUs).toBeCloseTo(2 * DELAY, 0);
  });

  it('a boundary overtaken by a later one is ignored, and measurement goes on', () => {
    const hs = headers(8000);
    const boundaries = hs.flatMap((h, i) => (isBoundary(headerHash(h), 32) ? [i] : []));
    const slow = boundaries[40]!;
    const w = wired(32);
    const gapToNext = (boundaries[41]! - slow) * GAP;
    const est = stream(8000, w, { late: new Map([[slow, gapToNext + 1_000]]) });
    expect(w.meter.stats.skipped).toBe(1);
    expect(w.meter.stats.unmatched).toBe(1);
    expect(est.length).toBe(boundaries.length - 1);
    for (const e of est) expect(e.rttUs).toBeGreaterThan(0);
  });

  it('changing N either way loses no measurement: the sendbox records under the smaller period until the receivebox confirms', () => {
    const w = wired(8);
    const est = stream(16_000, w, {
      at: (i) => {
        // The sendbox changes its period; the receivebox hears of it 200 packets (25 ms) later.
        if (i === 4000) w.meter.setPeriod(64);
        if (i === 4200) w.rx.setPeriod(64);
        if (i === 10_000) w.meter.setPeriod(4);
        if (i === 10_200) w.rx.setPeriod(4);
      },
    });
    expect(w.meter.stats.unmatched).toBe(0);
    expect(w.meter.period).toBe(4);
    expect(w.meter.recordingPeriod).toBe(4);
    // No gap in the estimates longer than an epoch at the largest period (64 packets), with slack.
    for (let i = 1; i < est.length; i++) expect(est[i]!.atUs - est[i - 1]!.atUs).toBeLessThan(64 * GAP * 6);
    for (const e of est) expect(e.rttUs).toBeCloseTo(2 * DELAY, 0);
  });
});
