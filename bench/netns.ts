/**
 * The transport against Linux Cubic on a shaped link (issue 16 §3): runs
 * `scripts/netns-compare.sh` `reps` times at each shape of the issue (48
 * Mbit/s with 20 ms RTT, 12 Mbit/s with 50 ms; a 100-packet drop-tail queue)
 * and pairs each of our flows with the Linux flows of the same repetition,
 * which ran on the same link minutes apart. Rows: goodput (target ≥ 1×),
 * bottleneck drops (≤ 2×) and queueing delay p95 (≤ 1.2×), each the median
 * of the per-repetition ratios with p25–p75.
 *
 * Drops are counted at the bottleneck queue for every flow alike (TCP's
 * retransmissions and the transport's declared losses also count spurious
 * ones, and iperf3 leaves its warm-up out). Baselines: the Node TCP sender
 * (Linux Cubic, driven by the same kind of user-space pump as ours) and
 * iperf3 when installed (Debian: apt-get install iperf3).
 *
 *   sudo pnpm bench netns [reps=3] [seconds=10] [nice=-10]
 *
 * Needs root (network namespaces); not part of the test suite. Run it on a
 * quiet machine: under other load the user-space endpoints stall for 3-20 ms
 * several times per round, and the drops then measure the scheduler.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pairedResult } from './lib/paired.js';
import { report, type Result } from './lib/results.js';

const arg = (name: string, fallback: number): number => {
  const a = process.argv.find((x) => x.startsWith(`${name}=`));
  return a === undefined ? fallback : Number(a.slice(name.length + 1));
};
const reps = arg('reps', 3);
const seconds = arg('seconds', 10);
const niceness = arg('nice', -10);

const SHAPES = [
  { rate: '48mbit', delay: '10ms', label: '48 Mbit/s, 20 ms RTT' },
  { rate: '12mbit', delay: '25ms', label: '12 Mbit/s, 50 ms RTT' },
] as const;
const SUBJECTS = [
  { run: 'CCP transport, CCP', label: 'CCP-driven Cubic' },
  { run: 'CCP transport, native', label: 'native Cubic' },
] as const;
const BASELINES = [
  { run: 'Linux TCP (Node)', label: 'Linux Cubic (Node sender)' },
  { run: 'iperf3 TCP', label: 'Linux Cubic (iperf3)' },
] as const;
const METRICS = [
  { column: 3, label: 'goodput', unit: 'Mbit/s' },
  { column: 9, label: 'bottleneck drops', unit: 'packets' },
  { column: 7, label: 'queueing delay p95', unit: 'ms' },
] as const;

/** One run's row as netns-compare.sh --rows writes it: shape, run, algorithm, then the figures. */
type Row = readonly string[];

const script = join(import.meta.dirname, '..', 'scripts', 'netns-compare.sh');
const dir = mkdtempSync(join(tmpdir(), 'bench-netns-'));
/** rows[shape][rep]: every run of that repetition, by run name. */
const rows = SHAPES.map(() => [] as Map<string, Row>[]);
try {
  for (let rep = 0; rep < reps; rep++) {
    SHAPES.forEach((shape, s) => {
      const file = join(dir, `${s}-${rep}.tsv`);
      console.error(`netns: repetition ${rep + 1}/${reps}, ${shape.label}`);
      const r = spawnSync('bash', [script, '--rate', shape.rate, '--delay', shape.delay, '--seconds', String(seconds), '--nice', String(niceness), '--rows', file], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new Error(`netns-compare.sh failed (exit ${r.status ?? r.signal}); run it alone to see why (it needs root)`);
      const runs = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
      rows[s]!.push(new Map(runs.map((row) => [row[1]!, row])));
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const results: Result[] = [];
SHAPES.forEach((shape, s) => {
  for (const subject of SUBJECTS)
    for (const baseline of BASELINES)
      for (const m of METRICS) {
        const pairs = rows[s]!.filter((runs) => runs.has(subject.run) && runs.has(baseline.run));
        if (pairs.length === 0) continue;
        const figure = (row: Row | undefined): number => Number(row?.[m.column]);
        results.push(
          pairedResult(
            `${shape.label}: ${subject.label} ${m.label} vs ${baseline.label}`,
            pairs.map((runs) => figure(runs.get(subject.run))),
            pairs.map((runs) => figure(runs.get(baseline.run))),
            m.unit,
          ),
        );
      }
});
report('netns', results);
