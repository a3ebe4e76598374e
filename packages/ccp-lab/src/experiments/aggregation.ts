/**
 * `aggregation`: five flows to one host start one after another. Under the
 * fair-share aggregate (`aggregate-reno`) they share one Reno window, so a
 * new flow gets its equal share at once, without slow start or a loss
 * episode; as independent Reno flows each must fight for its share. Per-flow
 * throughput over time and Jain's fairness index per phase.
 */
import type { LineSeries } from '../plot/charts.js';
import { bdpBytes, durationUs, mean, runs } from './common.js';
import type { Chart, Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import { jainIndex, percentileOf, sorted } from './metrics.js';
import { runScenario } from './run-scenario.js';

const RATE_BPS = 48e6;
const RTT_US = 20_000;
const FLOWS = 5;
/** Throughput bins for the per-flow series. */
const BIN_US = 200_000;

const CONFIGS = [
  ['fair-share aggregate', 'aggregate-reno'],
  ['independent Reno', 'reno'],
] as const;

export const aggregationExperiment: Experiment = {
  name: 'aggregation',
  description: `${FLOWS} flows starting one after another (10 s apart): fair-share aggregate vs independent Reno`,
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    // The last flow starts at 4 gaps and runs for one more: the run is 5 gaps long.
    const duration = durationUs(opts, 50, 10);
    const gapUs = duration / FLOWS;
    const progress = runs(opts, CONFIGS.length);
    const rows: (string | number)[][] = [];
    const charts: Chart[] = [];
    const data: Record<string, unknown> = {};
    for (const [label, algorithm] of CONFIGS) {
      const r = await runScenario(
        {
          bottleneck: { rateBps: RATE_BPS, delayUs: RTT_US / 2, bufferBytes: bdpBytes(RATE_BPS, RTT_US), recordQueueDelay: true },
          flows: Array.from({ length: FLOWS }, (_, i) => ({ cc: { kind: 'ccp', algorithm } as const, startUs: i * gapUs })),
          durationUs: duration,
          binUs: BIN_US,
          seed: opts.seed,
        },
        progress.next(),
      );
      const series: LineSeries[] = r.flows.map((f, i) => ({ name: `flow ${i + 1}`, points: f.delivered.rateMbps(duration) }));
      // Per phase (k flows running): each live flow's mean rate over the phase's second half, once it has settled.
      const phases = Array.from({ length: FLOWS }, (_, k) => {
        const from = k * gapUs + gapUs / 2;
        const to = (k + 1) * gapUs;
        const first = Math.floor(from / BIN_US);
        const last = Math.floor(to / BIN_US);
        const shares = r.flows.slice(0, k + 1).map((f) => mean(f.delivered.sums(to).slice(first, last)) * (8 / BIN_US));
        return { flows: k + 1, sharesMbps: shares, jain: jainIndex(shares), totalMbps: shares.reduce((a, b) => a + b, 0) };
      });
      const delays = sorted(r.queueDelays.map((q) => q.delayUs / 1000));
      for (const p of phases) {
        rows.push([label, p.flows, p.totalMbps, Math.min(...p.sharesMbps), Math.max(...p.sharesMbps), p.jain]);
      }
      data[algorithm] = { phases, throughputMbps: Object.fromEntries(series.map((s) => [s.name, s.points])), queueDelayMs: { p50: percentileOf(delays, 50), p95: percentileOf(delays, 95) } };
      charts.push({
        name: algorithm,
        kind: 'line',
        spec: { title: `${label}: per-flow throughput`, x: { label: 'time (s)' }, y: { label: 'Mbit/s', domain: [0, RATE_BPS / 1e6] }, series },
      });
    }
    return {
      experiment: 'aggregation',
      params: { rateMbps: RATE_BPS / 1e6, rttMs: RTT_US / 1000, bufferBdp: 1, flows: FLOWS, gapS: gapUs / 1e6, durationS: duration / 1e6, seed: opts.seed ?? 1 },
      table: { columns: ['controller', 'flows', 'total (Mbit/s)', 'min share', 'max share', 'Jain index'], rows },
      data,
      charts,
      notes: ['shares are each flow\'s mean rate over the second half of each phase'],
    };
  },
};
