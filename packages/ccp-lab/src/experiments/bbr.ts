/**
 * `bbr`: BBR in the agent over 48 Mbit/s, 20 ms RTT and a 2-BDP drop-tail
 * buffer. Throughput and queueing delay per RTT show startup filling the
 * pipe, drain emptying the queue, PROBE_BW's 1.25/0.75 gain cycles as
 * ripples every 8 RTTs, and PROBE_RTT's dip after 10 s.
 */
import { bdpBytes, durationUs, mean, runs } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import { binnedMean, percentileOf, sorted, values, window } from './metrics.js';
import { runScenario } from './run-scenario.js';

const RATE_BPS = 48e6;
const RTT_US = 20_000;

export const bbrExperiment: Experiment = {
  name: 'bbr',
  description: 'BBR over 48 Mbit/s, 20 ms RTT, 2-BDP buffer: throughput and queueing delay over time',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const duration = durationUs(opts, 20, 3);
    const progress = runs(opts, 1);
    const buffer = 2 * bdpBytes(RATE_BPS, RTT_US);
    const r = await runScenario(
      {
        bottleneck: { rateBps: RATE_BPS, delayUs: RTT_US / 2, bufferBytes: buffer, recordQueueDelay: true },
        flows: [{ cc: { kind: 'ccp', algorithm: 'bbr' } }],
        durationUs: duration,
        binUs: RTT_US,
        seed: opts.seed,
      },
      progress.next(),
    );
    const flow = r.flows[0]!;
    const throughput = flow.delivered.rateMbps(duration);
    const delay = binnedMean(
      r.queueDelays.map((q) => [q.atUs, q.delayUs / 1000] as const),
      RTT_US,
    );
    // Steady state: after startup and drain (the first second, or a quarter of a short run).
    const steadyFromS = Math.min(1, duration / 4e6);
    const steady = sorted(values(window(throughput, steadyFromS)));
    const steadyDelay = sorted(values(window(delay, steadyFromS)));
    const rows: (string | number)[][] = [
      ['throughput mean (Mbit/s)', mean(steady)],
      ['throughput p5 (Mbit/s)', percentileOf(steady, 5)],
      ['throughput p95 (Mbit/s)', percentileOf(steady, 95)],
      ['link utilisation (%)', (100 * mean(steady)) / (RATE_BPS / 1e6)],
      ['queueing delay p50 (ms)', percentileOf(steadyDelay, 50)],
      ['queueing delay p95 (ms)', percentileOf(steadyDelay, 95)],
      ['packets dropped at the buffer', r.link.dropped],
    ];
    return {
      experiment: 'bbr',
      params: { rateMbps: RATE_BPS / 1e6, rttMs: RTT_US / 1000, bufferBytes: buffer, durationS: duration / 1e6, steadyFromS, seed: opts.seed ?? 1 },
      table: { columns: ['metric (steady state)', 'value'], rows },
      data: { throughputMbps: throughput, queueDelayMs: delay, samples: flow.samples },
      charts: [
        {
          name: 'throughput',
          kind: 'line',
          spec: { title: 'BBR: throughput per RTT', x: { label: 'time (s)' }, y: { label: 'Mbit/s', domain: [0, 1.5 * (RATE_BPS / 1e6)] }, series: [{ name: 'BBR (CCP)', points: throughput }],
            rules: [{ y: RATE_BPS / 1e6, label: `link capacity ${RATE_BPS / 1e6} Mbit/s` }],
          },
        },
        {
          name: 'queue-delay',
          kind: 'line',
          spec: { title: 'BBR: bottleneck queueing delay per RTT', x: { label: 'time (s)' }, y: { label: 'ms' }, series: [{ name: 'BBR (CCP)', points: delay }] },
        },
      ],
      notes: [`steady-state throughput ${mean(steady).toFixed(1)} of ${RATE_BPS / 1e6} Mbit/s; median queueing delay ${percentileOf(steadyDelay, 50).toFixed(2)} ms`],
    };
  },
};
