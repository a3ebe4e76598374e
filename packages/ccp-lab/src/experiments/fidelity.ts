/**
 * `fidelity`: does congestion control from the agent behave like the same
 * algorithm built into the transport? Reno and Cubic, CCP and native, on
 * three links: fixed (96 Mbit/s, 20 ms, 1-BDP buffer), cell (the shipped
 * Verizon LTE trace or `--trace <file>`, 20 ms, 100-packet buffer) and drop
 * (96 Mbit/s, 20 ms, 0.01 % seeded random loss, unlimited buffer). Compares the distributions of per-RTT
 * throughput and of per-packet queueing delay with the two-sample KS distance.
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTrace, shippedTrace, type Trace } from '../link/trace.js';
import type { LinkOptions } from '../link/link.js';
import type { CdfSeries } from '../plot/charts.js';
import { bdpBytes, durationUs, mean, runs } from './common.js';
import type { Chart, Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import { ksDistance, percentileOf, sorted, values } from './metrics.js';
import { runScenario } from './run-scenario.js';

const RATE_BPS = 96e6;
const RTT_US = 20_000;
type LinkName = 'fixed' | 'cell' | 'drop';

function linkOf(name: LinkName, seed: number, trace: Trace): LinkOptions {
  switch (name) {
    case 'fixed':
      return { rateBps: RATE_BPS, delayUs: RTT_US / 2, bufferBytes: bdpBytes(RATE_BPS, RTT_US), recordQueueDelay: true };
    case 'cell':
      return { trace, delayUs: RTT_US / 2, bufferPackets: 100, recordQueueDelay: true };
    case 'drop':
      return { rateBps: RATE_BPS, delayUs: RTT_US / 2, loss: 1e-4, seed, recordQueueDelay: true };
  }
}

const LINKS: readonly LinkName[] = ['fixed', 'cell', 'drop'];
const ALGORITHMS = ['reno', 'cubic'] as const;

export const fidelityExperiment: Experiment = {
  name: 'fidelity',
  description: 'Reno and Cubic, CCP vs native, on fixed, cellular and lossy links: KS distance of throughput and delay',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const duration = durationUs(opts, 30, 4);
    const seed = opts.seed ?? 1;
    // Read first: a bad --trace fails the experiment before any run.
    const traceFile = opts.trace ?? shippedTrace('Verizon-LTE-short.down');
    const trace = await loadTrace(traceFile, { signal: opts.signal });
    const traceName = basename(typeof traceFile === 'string' ? traceFile : fileURLToPath(traceFile));
    const progress = runs(opts, LINKS.length * ALGORITHMS.length * 2);
    const rows: (string | number)[][] = [];
    const charts: Chart[] = [];
    const data: Record<string, unknown> = {};
    for (const link of LINKS) {
      const bottleneck = linkOf(link, seed, trace);
      const thrCdf: CdfSeries[] = [];
      const delayCdf: CdfSeries[] = [];
      for (const algorithm of ALGORITHMS) {
        const sample = async (kind: 'ccp' | 'native'): Promise<{ thr: number[]; delay: number[] }> => {
          const r = await runScenario({ bottleneck, flows: [{ cc: { kind, algorithm } }], durationUs: duration, binUs: RTT_US, seed }, progress.next());
          return { thr: values(r.flows[0]!.delivered.rateMbps(duration)), delay: r.queueDelays.map((q) => q.delayUs / 1000) };
        };
        const ccp = await sample('ccp');
        const native = await sample('native');
        const [cThr, nThr, cDelay, nDelay] = [sorted(ccp.thr), sorted(native.thr), sorted(ccp.delay), sorted(native.delay)];
        const ksThr = ksDistance(cThr, nThr);
        const ksDelay = ksDistance(cDelay, nDelay);
        rows.push([link, algorithm, mean(cThr), mean(nThr), ksThr, percentileOf(cDelay, 50), percentileOf(nDelay, 50), percentileOf(cDelay, 95), percentileOf(nDelay, 95), ksDelay]);
        const label = algorithm === 'reno' ? 'Reno' : 'Cubic';
        thrCdf.push({ name: `${label} CCP`, values: cThr }, { name: `${label} native`, values: nThr });
        delayCdf.push({ name: `${label} CCP`, values: cDelay }, { name: `${label} native`, values: nDelay });
        data[`${link}/${algorithm}`] = {
          ksThroughput: ksThr,
          ksDelay,
          throughputMbps: { ccp: ccp.thr, native: native.thr },
          // Per-packet delays are many: keep percentiles, not the samples.
          delayMsPercentiles: Object.fromEntries(
            ([1, 5, 10, 25, 50, 75, 90, 95, 99] as const).map((p) => [`p${p}`, { ccp: percentileOf(cDelay, p), native: percentileOf(nDelay, p) }]),
          ),
        };
      }
      charts.push(
        { name: `${link}-throughput`, kind: 'cdf', spec: { title: `${link} link: per-RTT throughput`, x: { label: 'Mbit/s' }, series: thrCdf } },
        { name: `${link}-delay`, kind: 'cdf', spec: { title: `${link} link: queueing delay`, x: { label: 'ms' }, series: delayCdf } },
      );
    }
    const worst = Math.max(...rows.map((r) => Math.max(r[4] as number, r[9] as number)));
    return {
      experiment: 'fidelity',
      params: {
        links: {
          fixed: `${RATE_BPS / 1e6} Mbit/s, ${RTT_US / 1000} ms, 1 BDP buffer`,
          cell: `${traceName}, ${RTT_US / 1000} ms, 100-packet buffer`,
          drop: `${RATE_BPS / 1e6} Mbit/s, ${RTT_US / 1000} ms, 0.01 % loss, unlimited buffer`,
        },
        durationS: duration / 1e6,
        seed,
      },
      table: {
        columns: ['link', 'alg', 'thr CCP (Mbit/s)', 'thr native', 'KS thr', 'delay p50 CCP (ms)', 'p50 native', 'p95 CCP', 'p95 native', 'KS delay'],
        rows,
      },
      data,
      charts,
      notes: [`largest KS distance between CCP and native: ${worst.toFixed(3)}`],
    };
  },
};
