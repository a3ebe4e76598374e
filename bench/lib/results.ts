import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One benchmark figure next to its baseline from the same run. */
export interface Result {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  /** value / baseline; for paired rows (lib/paired.ts) the median of per-repetition ratios. */
  readonly ratio: number;
  /** Spread of the per-repetition ratios (p25 and p75), for paired rows. */
  readonly ratioP25?: number;
  readonly ratioP75?: number;
}

export function result(metric: string, value: number, baseline: number, unit: string): Result {
  return { metric, value, unit, baseline, ratio: baseline === 0 ? NaN : value / baseline };
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n >= 100 ? n.toFixed(1) : n.toPrecision(4));

/** Prints a table of results and writes them to bench-results/<name>.json. */
export function report(name: string, results: readonly Result[]): string {
  const dir = join(process.cwd(), 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const spread = (r: Result): string => (r.ratioP25 === undefined || r.ratioP75 === undefined ? '' : `${r.ratioP25.toFixed(3)}–${r.ratioP75.toFixed(3)}`);
  const rows = results.map((r) => [r.metric, fmt(r.value), fmt(r.baseline), r.unit, Number.isNaN(r.ratio) ? '-' : r.ratio.toFixed(3), spread(r)]);
  const head = ['metric', 'value', 'baseline', 'unit', 'ratio', 'p25–p75'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${name}\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
  console.log(`\nwrote ${file}`);
  return file;
}

/** Percentile of sorted samples (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
