/** Writing experiment results: a text table for the terminal, JSON and SVG files for later. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cdfChart, lineChart } from '../plot/charts.js';
import { writePlot } from '../plot/render.js';
import type { Chart, ExperimentResult, Table } from './experiment.js';

const cell = (v: string | number): string => {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '-';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3);
};

/** The table as aligned text: text columns left, numbers right. */
export function formatTable(table: Table): string {
  const rows = table.rows.map((r) => r.map(cell));
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
