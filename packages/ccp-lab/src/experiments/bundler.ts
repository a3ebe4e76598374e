/**
 * `bundler`: site-to-site aggregate control. Heavy-tailed requests (97.6 %
 * at most 10 KB) offered at 84 Mbit/s over a 96 Mbit/s, 50 ms bottleneck,
 * Cubic at the endhosts, under four setups: the status quo (drop-tail
 * FIFO), fair queueing in the network, and Bundler (a sendbox running Copa
 * over the bundle, its queue served by SFQ or FIFO). Slowdown (completion
 * time over the time the request takes alone) per setup and size class, and
 * the accuracy of the sendbox's epoch measurements against the simulator's
 * ground truth.
 */
import { aloneFct, aloneKey } from '../bundler/alone-fct.js';
import { runSiteNetwork, SETUPS, type Setup, type SiteNetworkOptions } from '../bundler/site-network.js';
import { heavyTailedRequests, SMALL_MAX, type Request } from '../bundler/workload.js';
import type { CdfSeries } from '../plot/charts.js';
import { bdpBytes, MSS, runs } from './common.js';
import type { Chart, Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import { percentileOf, sorted } from './metrics.js';

const RATE_BPS = 96e6;
const LOAD_BPS = 84e6;
const RTT_US = 50_000;

const LABELS: Record<Setup, string> = {
  'status-quo': 'status quo',
  fq: 'in-network FQ',
  'bundler-sfq': 'Bundler + SFQ',
  'bundler-fifo': 'Bundler + FIFO',
};

/** Size classes of the FCT distributions. */
const CLASSES = [
  { name: 'small', label: `≤ ${SMALL_MAX / 1000} KB`, max: SMALL_MAX },
  { name: 'medium', label: '10 KB – 1 MB', max: 1e6 },
  { name: 'large', label: '> 1 MB', max: Infinity },
] as const;

/** Published (Bundler, EuroSys '21): median and p99 slowdown. */
const PUBLISHED: Partial<Record<Setup, readonly [number, number]>> = {
  'status-quo': [1.76, 79.4],
  fq: [1.07, NaN],
  'bundler-sfq': [1.26, 41.4],
};

export const bundlerExperiment: Experiment = {
  name: 'bundler',
  description: 'Bundler: heavy-tailed requests at 84 of 96 Mbit/s, 50 ms; status quo vs in-network FQ vs Bundler+SFQ/FIFO',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const quick = opts.quick === true;
    // Requests arrive during `arrivals`; the run goes on for `drain` more so most can finish.
    const arrivalsUs = Math.round((opts.durationS ?? (quick ? 4 : 40)) * 1e6);
    const drainUs = quick ? 3e6 : 15e6;
    const maxBytes = quick ? 10e6 : 100e6;
    const seed = opts.seed ?? 1;
    const buffer = bdpBytes(RATE_BPS, RTT_US);
    const requests = heavyTailedRequests({ loadBps: LOAD_BPS, durationUs: arrivalsUs, maxBytes, seed });
    const progress = runs(opts, SETUPS.length + 1);
    const base: Omit<SiteNetworkOptions, 'setup' | 'requests'> = { rateBps: RATE_BPS, rttUs: RTT_US, bufferBytes: buffer, durationUs: arrivalsUs + drainUs, seed, mss: MSS };
    const ideal = await idealFcts(requests, base, progress.next());

    const rows: (string | number)[][] = [];
    const data: Record<string, unknown> = {};
    const fctByClass = CLASSES.map((): CdfSeries[] => []);
    let statusQuoMedian = NaN;
    let accuracy: Record<string, number> = {};
    let accuracyCharts: Chart[] = [];
    for (const setup of SETUPS) {
      const r = await runSiteNetwork({ ...base, setup, requests, truth: setup === 'bundler-sfq' }, progress.next());
      const slowdowns: number[] = [];
      const perClass = CLASSES.map(() => ({ slowdowns: [] as number[], fctMs: [] as number[] }));
      r.fctUs.forEach((f, i) => {
        if (f === undefined) return;
        const s = f / ideal[i]!;
        slowdowns.push(s);
        const c = perClass[CLASSES.findIndex((k) => requests[i]!.bytes <= k.max)]!;
        c.slowdowns.push(s);
        c.fctMs.push(f / 1000);
      });
      const all = sorted(slowdowns);
      const median = percentileOf(all, 50);
      if (setup === 'status-quo') statusQuoMedian = median;
      const pub = PUBLISHED[setup];
      rows.push([
        LABELS[setup],
        `${all.length}/${requests.length}`,
        median,
        percentileOf(all, 99),
        median / statusQuoMedian,
        pub === undefined ? '—' : `${pub[0]} / ${Number.isNaN(pub[1]) ? '—' : pub[1]}`,
        setup === 'fq' ? NaN : r.bottleneck.meanQueueUs / 1000,
        r.bottleneck.drops + (r.sendbox?.drops ?? 0),
      ]);
      perClass.forEach((c, k) => fctByClass[k]!.push({ name: LABELS[setup], values: c.fctMs }));
      data[setup] = {
        finished: all.length,
        slowdown: { p50: median, p99: percentileOf(all, 99) },
        byClass: Object.fromEntries(
          CLASSES.map((k, j) => {
            const s = sorted(perClass[j]!.slowdowns);
            return [k.name, { n: s.length, p50: percentileOf(s, 50), p99: percentileOf(s, 99) }];
          }),
        ),
        bottleneck: r.bottleneck,
        ...(r.sendbox !== undefined ? { sendbox: { ...r.sendbox, estimates: r.sendbox.estimates.length, errors: undefined } } : {}),
      };
      if (r.sendbox !== undefined && r.sendbox.errors.length > 0) {
        const rtt = r.sendbox.errors.map((e) => Math.abs(e.rttUs) / 1000);
        const rate = r.sendbox.errors.flatMap((e) => [Math.abs(e.sendRateBps), Math.abs(e.recvRateBps)].map((b) => b / 1e6));
        const within = (xs: number[], bound: number): number => xs.filter((x) => x <= bound).length / xs.length;
        accuracy = {
          estimates: rtt.length,
          rttWithin1_2ms: within(rtt, 1.2),
          rateWithin4Mbps: within(rate, 4),
          rttP80Ms: percentileOf(sorted(rtt), 80),
          rateP80Mbps: percentileOf(sorted(rate), 80),
        };
        accuracyCharts = [
          { name: 'rtt-error', kind: 'cdf', spec: { title: 'Bundler + SFQ: |RTT estimate − truth|', x: { label: 'ms' }, series: [{ name: 'epoch RTT', values: rtt }] } },
          { name: 'rate-error', kind: 'cdf', spec: { title: 'Bundler + SFQ: |rate estimate − truth| (send and receive)', x: { label: 'Mbit/s' }, series: [{ name: 'epoch rates', values: rate }] } },
        ];
      }
    }
    data.accuracy = accuracy;
    const charts: Chart[] = [
      ...CLASSES.map(
        (k, j): Chart => ({
          name: `fct-${k.name}`,
          kind: 'cdf',
          spec: { title: `completion time, requests ${k.label}`, x: { label: 'ms', scale: 'log' }, series: fctByClass[j]! },
        }),
      ),
      ...accuracyCharts,
    ];
    const sfq = rows.find((r) => r[0] === LABELS['bundler-sfq'])!;
    return {
      experiment: 'bundler',
      params: {
        rateMbps: RATE_BPS / 1e6,
        offeredMbps: LOAD_BPS / 1e6,
        rttMs: RTT_US / 1000,
        bufferBdp: 1,
        sendboxBufferBdp: 2,
        requests: requests.length,
        maxRequestBytes: maxBytes,
        arrivalsS: arrivalsUs / 1e6,
        drainS: drainUs / 1e6,
        endhosts: 'native Cubic',
        sendboxAlgorithm: 'copa',
        seed,
      },
      table: { columns: ['setup', 'finished', 'median slowdown', 'p99 slowdown', 'median vs status quo', 'published p50 / p99', 'bottleneck queue (ms)', 'drops'], rows },
      data,
      charts,
      notes: [
        `${requests.length} requests; Bundler + SFQ median slowdown ${(sfq[4] as number).toFixed(2)}× the status quo's (target ≤ 0.75×, published 0.72×)`,
        `epoch estimates (${accuracy.estimates ?? 0}): ${pct(accuracy.rttWithin1_2ms)} of RTTs within 1.2 ms, ${pct(accuracy.rateWithin4Mbps)} of rates within 4 Mbit/s (published: 80 % each)`,
        'slowdown: completion time over the same request alone on the status-quo network',
      ],
    };
  },
};

const pct = (x: number | undefined): string => (x === undefined ? 'n/a' : `${(100 * x).toFixed(0)} %`);

/** Each request's completion time alone on the status-quo network (see `aloneFct`). */
async function idealFcts(requests: readonly Request[], base: Omit<SiteNetworkOptions, 'setup' | 'requests'>, control: { onProgress?: (f: number) => void; signal?: AbortSignal }): Promise<number[]> {
  const mss = base.mss ?? MSS;
  const keys = [...new Set(requests.map((r) => aloneKey(Math.ceil(r.bytes / mss))))];
  const alone = new Map<number, number>();
  for (const [j, k] of keys.entries()) {
    const bytes = k * mss;
    // Long enough for slow start at this RTT and the transfer at line rate, with room to spare.
    const durationUs = 2 * ((bytes * 8e6) / base.rateBps) + 40 * base.rttUs;
    const r = await runSiteNetwork({ ...base, setup: 'status-quo', requests: [{ startUs: 0, bytes }], durationUs }, { signal: control.signal });
    alone.set(k, r.fctUs[0] ?? durationUs);
    control.onProgress?.((j + 1) / keys.length);
  }
  return requests.map((r) => aloneFct(r.bytes, mss, base.rateBps, (k) => alone.get(k)!));
}
