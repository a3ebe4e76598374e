/**
 * `nimbus`: one Nimbus flow over 48 Mbit/s, 50 ms RTT and a one-BDP drop-tail
 * buffer against (a) inelastic constant-rate cross traffic — it should stay
 * in delay mode and keep the queue near its target — and (b) a competing
 * Cubic flow — it should find the cross traffic elastic within seconds,
 * switch to TCP-competitive mode and take a fair share. Nimbus estimates
 * the bottleneck rate μ from its own receive rate, which shows μ only while
 * it has the link to itself: the cross traffic starts after Nimbus's
 * start-up, 2–3 s in. Each case runs over
 * several seeds (the cross traffic's start, and its rate in case a); the
 * table counts correct detections. Baselines: Cubic against the same
 * constant-rate traffic (the queue Nimbus avoids), and Nimbus held in delay
 * mode against Cubic (the starvation it avoids).
 */
import type { Algorithm } from '@bertha/ccp';
import { mulberry32 } from '@bertha/core';
import { constantRate, constantRateName } from '../algorithms/constant-rate.js';
import { nimbus, type NimbusDecision } from '../nimbus/nimbus.js';
import type { LineSeries } from '../plot/charts.js';
import { bdpBytes, durationUs, mean, MSS, runs } from './common.js';
import type { Chart, Experiment, ExperimentOptions, ExperimentResult } from './experiment.js';
import { binnedMean, percentileOf, sorted, type Point } from './metrics.js';
import { runScenario } from './run-scenario.js';
import type { FlowSpec, RunControl } from './scenario.js';

const RTT_US = 50_000;
const BIN_US = 100_000;
/** η threshold (Nimbus's default). */
const THRESHOLD = 2;
/** The detector's window, s: decisions before it holds only cross traffic are not counted. */
const WINDOW_S = 5.12;
/** Nimbus runs alone this long before the cross traffic may start (1 s more at most), µs. */
const ALONE_US = 2_000_000;

/** Bytes on the link per packet beyond the payload: our 14-byte header and the simulated IPv4 + UDP 28. */
const OVERHEAD = 14 + 28;
/** μ as Nimbus measures rates, in payload bits/s: what its estimate should find. */
const payloadBps = (linkBps: number): number => (linkBps * MSS) / (MSS + OVERHEAD);

type CaseKind = 'inelastic' | 'elastic';

interface RunOutcome {
  readonly seed: number;
  readonly crossStartS: number;
  readonly crossMbpsOffered: number | undefined;
  /** Nimbus's estimate of μ over its true value, mean over the counted decisions. */
  readonly linkRateRatio: number;
  /** Seconds from the cross traffic's start to the first competitive decision; undefined if none. */
  readonly detectionS: number | undefined;
  /** Share of decisions from when the window holds only cross traffic on that were `competitive`. */
  readonly competitiveShare: number;
  readonly correct: boolean;
  readonly nimbusMbps: number;
  readonly crossMbps: number;
  readonly queueP50Ms: number;
  readonly queueP95Ms: number;
  readonly series: { nimbus: Point[]; cross: Point[]; queueMs: Point[]; decisions: NimbusDecision[] };
}

interface CaseSetup {
  readonly rateBps: number;
  readonly durationUs: number;
  readonly seed: number;
  /** `Infinity` holds Nimbus in delay mode. */
  readonly threshold?: number;
  /** The cross traffic: default per case; `cubic` for the baseline of case a. */
  readonly nimbusAlgorithm?: 'nimbus' | 'cubic';
}

async function runCase(kind: CaseKind, c: CaseSetup, control: RunControl): Promise<RunOutcome> {
  const rand = mulberry32(c.seed);
  const crossStartUs = ALONE_US + Math.round(rand() * 1e6);
  // Inelastic traffic takes 30–60 % of the link.
  const crossBps = kind === 'inelastic' ? Math.round((0.3 + 0.3 * rand()) * (c.rateBps / 1e5)) * 1e5 : undefined;
  const decisions: NimbusDecision[] = [];
  const algorithms: Algorithm[] = [nimbus({ threshold: c.threshold ?? THRESHOLD, onDecision: (d) => decisions.push(d) })];
  if (crossBps !== undefined) algorithms.push(constantRate(crossBps, RTT_US));
  const cross: FlowSpec = { cc: { kind: 'ccp', algorithm: crossBps === undefined ? 'cubic' : constantRateName(crossBps) }, startUs: crossStartUs };
  const r = await runScenario(
    {
      bottleneck: { rateBps: c.rateBps, delayUs: RTT_US / 2, bufferBytes: bdpBytes(c.rateBps, RTT_US), recordQueueDelay: true },
      flows: [{ cc: { kind: 'ccp', algorithm: c.nimbusAlgorithm ?? 'nimbus' } }, cross],
      durationUs: c.durationUs,
      binUs: BIN_US,
      seed: c.seed,
      algorithms,
    },
    control,
  );
  const [own, other] = r.flows;
  const half = c.durationUs / 2;
  // Bytes per µs × 8 = Mbit/s.
  const mbpsOf = (f: typeof own): number => (f!.delivered.sums(c.durationUs).slice(Math.floor(half / BIN_US)).reduce((a, b) => a + b, 0) * 8) / (c.durationUs - half);
  const counted = decisions.filter((d) => d.timeUs >= crossStartUs + WINDOW_S * 1e6);
  const competitiveShare = counted.length === 0 ? 0 : counted.filter((d) => d.mode === 'competitive').length / counted.length;
  const firstCompetitive = decisions.find((d) => d.mode === 'competitive' && d.timeUs >= crossStartUs);
  const delays = sorted(r.queueDelays.filter((q) => q.atUs >= half).map((q) => q.delayUs / 1000));
  return {
    seed: c.seed,
    crossStartS: crossStartUs / 1e6,
    crossMbpsOffered: crossBps === undefined ? undefined : crossBps / 1e6,
    linkRateRatio: mean(counted.map((d) => d.linkBps)) / payloadBps(c.rateBps),
    detectionS: firstCompetitive === undefined ? undefined : (firstCompetitive.timeUs - crossStartUs) / 1e6,
    competitiveShare,
    correct: kind === 'elastic' ? competitiveShare > 0.5 : competitiveShare < 0.5,
    nimbusMbps: mbpsOf(own),
    crossMbps: mbpsOf(other),
    queueP50Ms: percentileOf(delays, 50),
    queueP95Ms: percentileOf(delays, 95),
    series: {
      nimbus: own!.delivered.rateMbps(c.durationUs),
      cross: other!.delivered.rateMbps(c.durationUs),
      queueMs: binnedMean(
        r.queueDelays.map((q) => [q.atUs, q.delayUs / 1000] as const),
        BIN_US,
      ),
      decisions,
    },
  };
}

const LABEL: Record<CaseKind, string> = { inelastic: 'a: vs constant-rate', elastic: 'b: vs Cubic' };

function charts(kind: CaseKind, o: RunOutcome, rateMbps: number, baseline?: { label: string; run: RunOutcome }): Chart[] {
  const title = `Nimbus ${LABEL[kind]} (seed ${o.seed})`;
  const rates: LineSeries[] = [
    { name: 'Nimbus', points: o.series.nimbus },
    { name: kind === 'elastic' ? 'Cubic' : `constant ${o.crossMbpsOffered} Mbit/s`, points: o.series.cross },
    { name: 'Nimbus\'s μ estimate', points: o.series.decisions.map((d) => [d.timeUs / 1e6, d.linkBps / 1e6] as const) },
  ];
  const queue: LineSeries[] = [{ name: 'Nimbus', points: o.series.queueMs }];
  if (baseline !== undefined) queue.push({ name: baseline.label, points: baseline.run.series.queueMs });
  const mode = o.series.decisions.map((d) => [d.timeUs / 1e6, d.mode === 'competitive' ? 1 : 0] as const);
  const eta = o.series.decisions.filter((d) => Number.isFinite(d.elasticity)).map((d) => [d.timeUs / 1e6, d.elasticity] as const);
  return [
    { name: `${kind}-rate`, kind: 'line', spec: { title: `${title}: throughput per 100 ms`, x: { label: 'time (s)' }, y: { label: 'Mbit/s', domain: [0, 1.2 * rateMbps] }, series: rates, rules: [{ y: rateMbps / 2, label: 'fair share' }] } },
    { name: `${kind}-queue`, kind: 'line', spec: { title: `${title}: bottleneck queueing delay`, x: { label: 'time (s)' }, y: { label: 'ms' }, series: queue } },
    { name: `${kind}-mode`, kind: 'line', spec: { title: `${title}: detected mode (1 = TCP-competitive)`, x: { label: 'time (s)' }, y: { label: 'mode', domain: [0, 1] }, series: [{ name: 'mode', points: mode }], step: true } },
    { name: `${kind}-elasticity`, kind: 'line', spec: { title: `${title}: elasticity η`, x: { label: 'time (s)' }, y: { label: 'η', scale: 'log' }, series: [{ name: 'η', points: eta }], rules: [{ y: THRESHOLD, label: 'threshold' }] } },
  ];
}

export const nimbusExperiment: Experiment = {
  name: 'nimbus',
  description: 'Nimbus vs constant-rate and vs Cubic cross traffic (48 Mbit/s, 50 ms): elasticity detection, queue and share',
  async run(opts: ExperimentOptions = {}): Promise<ExperimentResult> {
    const quick = opts.quick === true;
    const rateBps = 48e6;
    const duration = durationUs(opts, 20, 15);
    const seeds = quick ? 1 : 10;
    const base = opts.seed ?? 1;
    const progress = runs(opts, 2 * seeds + (quick ? 0 : 2));
    const outcomes: Record<CaseKind, RunOutcome[]> = { inelastic: [], elastic: [] };
    for (const kind of ['inelastic', 'elastic'] as const) {
      for (let i = 0; i < seeds; i++) outcomes[kind].push(await runCase(kind, { rateBps, durationUs: duration, seed: base + i }, progress.next()));
    }
    const baselines = quick
      ? undefined
      : {
          inelastic: { label: 'Cubic instead of Nimbus', run: await runCase('inelastic', { rateBps, durationUs: duration, seed: base, nimbusAlgorithm: 'cubic' }, progress.next()) },
          elastic: { label: 'Nimbus held in delay mode', run: await runCase('elastic', { rateBps, durationUs: duration, seed: base, threshold: Infinity }, progress.next()) },
        };
    const rows: (string | number)[][] = [];
    for (const kind of ['inelastic', 'elastic'] as const) {
      const os = outcomes[kind];
      const det = os.map((o) => o.detectionS).filter((x): x is number => x !== undefined);
      rows.push([
        `Nimbus ${LABEL[kind]}`,
        `${os.filter((o) => o.correct).length}/${os.length}`,
        kind === 'elastic' && det.length > 0 ? percentileOf(sorted(det), 50) : '—',
        mean(os.map((o) => o.nimbusMbps)),
        mean(os.map((o) => o.crossMbps)),
        mean(os.map((o) => o.queueP50Ms)),
        mean(os.map((o) => o.queueP95Ms)),
        mean(os.map((o) => o.linkRateRatio)),
      ]);
      const b = baselines?.[kind];
      if (b !== undefined) rows.push([`${b.label} ${LABEL[kind]}`, '—', '—', b.run.nimbusMbps, b.run.crossMbps, b.run.queueP50Ms, b.run.queueP95Ms, Number.isNaN(b.run.linkRateRatio) ? '—' : b.run.linkRateRatio]);
    }
    // The JSON keeps every run's summary; series only for the plotted runs.
    const strip = ({ series: _series, ...summary }: RunOutcome): Omit<RunOutcome, 'series'> => summary;
    const first = { inelastic: outcomes.inelastic[0]!, elastic: outcomes.elastic[0]! };
    return {
      experiment: 'nimbus',
      params: { rateMbps: rateBps / 1e6, rttMs: RTT_US / 1000, bufferBdp: 1, durationS: duration / 1e6, seeds, firstSeed: base, threshold: THRESHOLD, windowS: WINDOW_S },
      table: { columns: ['run', 'detection correct', 'detection time p50 (s)', 'Nimbus (Mbit/s)', 'cross (Mbit/s)', 'queue p50 (ms)', 'queue p95 (ms)', 'μ estimate / μ'], rows },
      data: {
        runs: { inelastic: outcomes.inelastic.map(strip), elastic: outcomes.elastic.map(strip) },
        ...(baselines === undefined ? {} : { baselines: { inelastic: strip(baselines.inelastic.run), elastic: strip(baselines.elastic.run) } }),
        decisions: { inelastic: first.inelastic.series.decisions, elastic: first.elastic.series.decisions },
      },
      charts: [...charts('inelastic', first.inelastic, rateBps / 1e6, baselines?.inelastic), ...charts('elastic', first.elastic, rateBps / 1e6, baselines?.elastic)],
      notes: [
        `detection correct in ${outcomes.inelastic.filter((o) => o.correct).length}/${seeds} inelastic and ${outcomes.elastic.filter((o) => o.correct).length}/${seeds} elastic runs (a run is correct when most decisions from ${WINDOW_S} s after the cross traffic's start are right)`,
        `rates and queue are over the second half of each run; detection time counts from the cross traffic's start, ${WINDOW_S} s of which fill the window`,
        `Nimbus estimates μ as its highest delivery rate of the last 30 s; μ estimate / μ is its mean over the counted decisions (μ in payload bits/s)`,
      ],
    };
  },
};
