/** Writing experiment results: a text table for the terminal, JSON and SVG files for later. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cdfChart, lineChart } from '../plot/charts.js';
import { writePlot } from '../plot/render.js';
import type { Chart, ExperimentResult, Table } from './experiment.js';

/** One number on its own: whole numbers as they are, others to three significant digits (one decimal from 100 up). */
const single = (v: number): string => {
  if (!Number.isFinite(v)) return '-';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
};

/**
 * How a numeric column prints. A column of whole numbers (counts) prints them
 * as they are. A column of one quantity (its non-zero values within a factor
 * of 100 of each other) prints every cell with the same number of decimals,
 * enough for three significant digits of its largest value: 1 and 0.988
 * print as 1.00 and 0.99. A column that mixes
 * quantities prints each number on its own.
 */
function columnFormat(values: readonly number[]): (v: number) => string {
  const finite = values.filter(Number.isFinite);
  const magnitudes = finite.filter((v) => v !== 0).map(Math.abs);
  if (finite.every(Number.isInteger) || magnitudes.length === 0) return single;
  const largest = Math.max(...magnitudes);
  if (largest / Math.min(...magnitudes) > 100) return single;
  const decimals = largest >= 100 ? 1 : Math.max(0, 2 - Math.floor(Math.log10(largest)));
  return (v) => (Number.isFinite(v) ? v.toFixed(decimals) : '-');
}

/** The table as aligned text: text columns left, numbers right. */
export function formatTable(table: Table): string {
  const formats = table.columns.map((_, i) => columnFormat(table.rows.map((r) => r[i]).filter((v) => typeof v === 'number')));
  const rows = table.rows.map((r) => r.map((v, i) => (typeof v === 'string' ? v : formats[i]!(v))));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = table.columns.map((_, i) => table.rows.every((r) => typeof r[i] === 'number'));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function renderChart(chart: Chart): Promise<string> {
  return chart.kind === 'line' ? lineChart(chart.spec) : cdfChart(chart.spec);
}

/** What made a result file: the tool and its version, and whether the run was `--quick`. */
export interface ResultMeta {
  readonly tool: string;
  readonly version: string;
  readonly quick: boolean;
}

/** Writes `<dir>/<experiment>.json` (with `meta` first) and one SVG per chart; returns the paths written. */
export async function writeResult(result: ExperimentResult, dir: string, meta: ResultMeta): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, `${result.experiment}.json`);
  const { charts: _charts, ...rest } = result;
  const doc = { ...meta, ...rest };
  await writeFile(json, `${JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  const paths = [json];
  for (const chart of result.charts) {
    const svg = join(dir, `${result.experiment}-${chart.name}.svg`);
    await writePlot(svg, await renderChart(chart));
    paths.push(svg);
  }
  return paths;
}
