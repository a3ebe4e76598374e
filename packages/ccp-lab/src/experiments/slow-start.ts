/**
 * `slow-start`: where slow start runs. Reno at 48 Mbit/s and 100 ms RTT
 * (1-BDP buffer) with slow start in the agent (cwnd doubles once per RTT of
 * reports), in the datapath growing the window on every ACK, and in the
 * datapath pacing at twice the delivery rate, against the transport's native
 * Reno. The agent variant lags by its report delay; the in-datapath ones
 * track native closely.
 */
import type { SlowStartMode } from '@bertha/ccp';
import { bdpBytes, durationUs, MSS, runs } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import type { LineSeries } from '../plot/charts.js';
import { runScenario } from './run-scenario.js';
import type { CcSpec } from './scenario.js';

const RATE_BPS = 48e6;
const RTT_US = 100_000;
/** Throughput bins: a tenth of the RTT, to see the per-RTT bursts of slow start. */
const BIN_US = 10_000;

const VARIANTS: ReadonlyArray<readonly [string, CcSpec]> = [
  ['CCP, agent (per RTT)', { kind: 'ccp', algorithm: 'reno', slowStart: 'agent' }],
  ['CCP, datapath window', { kind: 'ccp', algorithm: 'reno', slowStart: 'datapath-window' satisfies SlowStartMode }],
  ['CCP, datapath rate', { kind: 'ccp', algorithm: 'reno', slowStart: 'datapath-rate' }],
  ['native Reno', { kind: 'native', algorithm: 'reno' }],
];

export const slowStartExperiment: Experiment = {
  name: 'slow-start',
  description: 'slow start in the agent, in the datapath (window, rate) and native, at 48 Mbit/s and 100 ms',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const duration = durationUs(opts, 4, 1.5);
    const progress = runs(opts, VARIANTS.length);
    const buffer = bdpBytes(RATE_BPS, RTT_US);
    const rows: (string | number)[][] = [];
    const throughput: LineSeries[] = [];
    const cwnd: LineSeries[] = [];
    const data: Record<string, unknown> = {};
    for (const [name, cc] of VARIANTS) {
      const r = await runScenario(
        {
          bottleneck: { rateBps: RATE_BPS, delayUs: RTT_US / 2, bufferBytes: buffer },
          flows: [{ cc }],
          durationUs: duration,
          binUs: BIN_US,
          sampleUs: 1_000,
          seed: opts.seed,
        },
        progress.next(),
      );
      const flow = r.flows[0]!;
      const series = flow.delivered.rateMbps(duration);
      // Time to fill the pipe: the first 100 ms window averaging 90 % of the link.
      const perRtt = series.map(([t], i, all) => {
        const from = Math.max(0, i - RTT_US / BIN_US + 1);
        const slice = all.slice(from, i + 1);
        return [t, slice.reduce((a, [, v]) => a + v, 0) / slice.length] as const;
      });
      const filled = perRtt.find(([, v]) => v >= 0.9 * (RATE_BPS / 1e6));
      const peakCwnd = Math.max(0, ...flow.samples.map((s) => s.cwnd));
      rows.push([name, filled === undefined ? NaN : filled[0] * 1000, flow.deliveredBytes / 1e6, peakCwnd / MSS, r.link.dropped]);
      throughput.push({ name, points: series });
      cwnd.push({ name, points: flow.samples.map((s) => [s.atUs / 1e6, s.cwnd / MSS] as const) });
      data[name] = { throughputMbps: series, cwndPackets: cwnd.at(-1)!.points, dropped: r.link.dropped };
    }
    return {
      experiment: 'slow-start',
      params: { rateMbps: RATE_BPS / 1e6, rttMs: RTT_US / 1000, bufferBytes: buffer, durationS: duration / 1e6, binMs: BIN_US / 1000, seed: opts.seed ?? 1 },
      table: { columns: ['variant', 'time to 90% of link (ms)', 'delivered (MB)', 'peak cwnd (packets)', 'drops'], rows },
      data,
      charts: [
        { name: 'cwnd', kind: 'line', spec: { title: 'Slow start: cwnd', x: { label: 'time (s)' }, y: { label: 'cwnd (packets)', scale: 'log' }, series: cwnd, step: true } },
        { name: 'throughput', kind: 'line', spec: { title: 'Slow start: throughput per 10 ms', x: { label: 'time (s)' }, y: { label: 'Mbit/s' }, series: throughput } },
      ],
    };
  },
};
