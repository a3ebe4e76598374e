/**
 * `low-rtt`: can an agent keep up when the RTT is 20 µs? A 50-to-1 incast
 * on 10 and 40 Gbit/s links with a 20 µs base RTT: 50 senders each start one
 * flow of 10, 100 or 1000 packets at once. CCP Reno reports every 10 to
 * 500 µs and its decisions reach the datapath 20 µs late (agent staleness);
 * the baseline is the transport's native Reno, deciding on every ACK in the
 * datapath. The figure is the tail (p99 over the flows, i.e. the slowest)
 * completion time relative to the baseline.
 *
 * Scaling: the original runs many incast rounds on real 10/40 G NICs; here
 * each configuration is one simulated round (every flow of the same size),
 * which costs 50 × size packets of simulation: at most 50,000 per run, a few
 * tens of milliseconds of simulated time. `--quick` drops the 1000-packet
 * flows and the 40 Gbit/s link and keeps three report intervals. The switch
 * buffer holds 1,000 packets so the initial burst of 50 × 10 packets fits, as
 * in a shared-buffer datacenter switch, and the transport uses datacenter
 * timing: a 1 ms minimum (and initial) RTO and ACKs delayed at most 20 µs.
 */
import type { LineSeries } from '../plot/charts.js';
import { MSS, runs } from './common.js';
import type { Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import { percentileOf, sorted } from './metrics.js';
import { runScenario } from './run-scenario.js';
import type { CcSpec, ScenarioResult } from './scenario.js';

const RTT_US = 20;
const SENDERS = 50;
const STALENESS_US = 20;
const BUFFER_PACKETS = 1000;
const TRANSPORT = { minRtoUs: 1_000, initialRtoUs: 1_000, ackDelayUs: 20 } as const;

interface Config {
  readonly rates: readonly number[];
  readonly sizes: readonly number[];
  readonly intervals: readonly number[];
}

const FULL: Config = { rates: [10e9, 40e9], sizes: [10, 100, 1000], intervals: [10, 20, 50, 100, 200, 500] };
const QUICK: Config = { rates: [10e9], sizes: [10, 100], intervals: [10, 100, 500] };

/** Completion times of the flows in µs (Infinity for one that did not finish). */
const completions = (r: ScenarioResult): number[] => r.flows.map((f) => f.completionUs ?? Infinity);

export const lowRttExperiment: Experiment = {
  name: 'low-rtt',
  description: '50-to-1 incast at 20 µs RTT and 10/40 Gbit/s: tail completion time vs report interval, relative to native',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const c = opts.quick === true ? QUICK : FULL;
    const progress = runs(opts, c.rates.length * c.sizes.length * (c.intervals.length + 1));
    const rows: (string | number)[][] = [];
    const series: LineSeries[] = [];
    const data: Record<string, unknown> = {};
    for (const rate of c.rates) {
      for (const size of c.sizes) {
        // Long enough for every flow to finish at full rate many times over.
        const durationUs = opts.durationS !== undefined ? opts.durationS * 1e6 : Math.max(10_000, (20 * SENDERS * size * (MSS + 52) * 8) / (rate / 1e6));
        /** [p50, p99] completion time over the flows, µs; Infinity if one never finished. */
        const incast = async (cc: CcSpec, agentDelayUs?: number): Promise<[number, number]> => {
          const r = await runScenario(
            {
              bottleneck: { rateBps: rate, delayUs: RTT_US / 2, bufferPackets: BUFFER_PACKETS },
              flows: Array.from({ length: SENDERS }, () => ({ cc, bytes: size * MSS })),
              durationUs,
              binUs: 100,
              transport: TRANSPORT,
              ...(agentDelayUs !== undefined ? { agentDelayUs } : {}),
              seed: opts.seed,
            },
            progress.next(),
          );
          // A flow that never finished makes the tail unbounded.
          const fct = completions(r);
          const s = sorted(fct);
          return [percentileOf(s, 50), fct.every(Number.isFinite) ? percentileOf(s, 99) : Infinity];
        };
        const [base50, base] = await incast({ kind: 'native', algorithm: 'reno' });
        const points: (readonly [number, number])[] = [];
        const key = `${rate / 1e9}G/${size}`;
        const perInterval: Record<string, number> = {};
        for (const interval of c.intervals) {
          // Staleness is the report-to-decision delay: half of it each way over the IPC.
          const [median, tail] = await incast({ kind: 'ccp', algorithm: 'reno', report: { intervalUs: interval } }, STALENESS_US / 2);
          rows.push([`${rate / 1e9} Gbit/s`, size, interval, median, base50, tail, base, tail / base]);
          points.push([interval, tail / base]);
          perInterval[interval] = tail;
        }
        series.push({ name: `${rate / 1e9} Gbit/s, ${size} packets`, points });
        data[key] = { baselineP50Us: base50, baselineP99Us: base, ccpP99Us: perInterval };
      }
    }
    return {
      experiment: 'low-rtt',
      params: { rttUs: RTT_US, senders: SENDERS, stalenessUs: STALENESS_US, transport: TRANSPORT, bufferPackets: BUFFER_PACKETS, ratesGbps: c.rates.map((r) => r / 1e9), sizesPackets: c.sizes, reportIntervalsUs: c.intervals, seed: opts.seed ?? 1 },
      table: { columns: ['link', 'flow (packets)', 'report every (µs)', 'p50 FCT CCP (µs)', 'p50 native', 'p99 FCT CCP (µs)', 'p99 native', 'p99 relative'], rows },
      data,
      charts: [
        {
          name: 'tail-fct',
          kind: 'line',
          spec: { title: 'Incast: p99 completion time relative to in-datapath Reno', x: { label: 'report interval (µs)', scale: 'log' }, y: { label: 'CCP / native' }, series },
        },
      ],
    };
  },
};
