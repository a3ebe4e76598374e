import { InvalidArgumentError } from '@bertha/core';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './render.js';

export interface Axis {
  label: string;
  /** Default linear. */
  scale?: 'linear' | 'log';
  /** Fixed [min, max]; default fitted to the data. */
  domain?: readonly [number, number];
}

export interface ChartSize {
  title?: string;
  /** Plot area in pixels. Default 640 × 320. */
  width?: number;
  height?: number;
}

export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface LineChartOptions extends ChartSize {
  x: Axis;
  y: Axis;
  series: readonly LineSeries[];
  /** Draws each series as a step function (a value holds until the next point), e.g. cwnd over time. */
  step?: boolean;
  /** Horizontal reference lines, e.g. the link's capacity, drawn dashed in grey and labelled at the right. */
  rules?: readonly HorizontalRule[];
}

export interface HorizontalRule {
  y: number;
  label: string;
}

export interface CdfSeries {
  name: string;
  values: readonly number[];
}

export interface CdfChartOptions extends ChartSize {
  /** The axis of the values; the y axis is the cumulative fraction. */
  x: Axis;
  series: readonly CdfSeries[];
}

/** Most points drawn per CDF: beyond this the curve is sampled at evenly spaced quantiles. */
const CDF_POINTS = 500;

interface Row {
  x: number;
  y: number;
  series: string;
}

/** One line per series, e.g. throughput or queueing delay over time. */
export async function lineChart(opts: LineChartOptions): Promise<string> {
  const rows: Row[] = [];
  for (const s of opts.series) {
    for (const [x, y] of s.points) if (Number.isFinite(x) && Number.isFinite(y)) rows.push({ x, y, series: s.name });
  }
  return renderSvg(chartSpec(opts, rows, opts.series, opts.x, opts.y, opts.step === true, opts.rules ?? []));
}

/** The empirical cumulative distribution of each series, e.g. of flow completion times. */
export async function cdfChart(opts: CdfChartOptions): Promise<string> {
  const rows: Row[] = [];
  for (const s of opts.series) {
    const v = s.values.filter(Number.isFinite).sort((a, b) => a - b);
    const n = v.length;
    if (n === 0) continue;
    const step = Math.max(1, Math.floor(n / CDF_POINTS));
    for (let i = 0; i < n; i += step) rows.push({ x: v[i]!, y: (i + 1) / n, series: s.name });
    if ((n - 1) % step !== 0) rows.push({ x: v[n - 1]!, y: 1, series: s.name });
  }
  return renderSvg(chartSpec(opts, rows, opts.series, opts.x, { label: 'CDF', domain: [0, 1] }, true, []));
}

/** Dash patterns, one per series in turn: a series drawn exactly on another still shows (solid under dashed). */
const DASHES: readonly (readonly number[])[] = [[1, 0], [6, 4], [2, 3], [10, 3, 2, 3], [12, 6]];

function chartSpec(
  size: ChartSize,
  rows: Row[],
  series: readonly { name: string }[],
  x: Axis,
  y: Axis,
  step: boolean,
  rules: readonly HorizontalRule[],
): TopLevelSpec {
  const width = size.width ?? 640;
  const height = size.height ?? 320;
  if (!(width > 0 && height > 0)) throw new InvalidArgumentError(`chart width and height must be positive, got ${width} × ${height}`);
  const names = series.map((s) => s.name);
  const lines = {
    data: { values: rows },
    mark: { type: 'line' as const, interpolate: step ? ('step-after' as const) : ('linear' as const), clip: true, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: x.label, scale: scaleOf(x) },
      y: { field: 'y', type: 'quantitative' as const, title: y.label, scale: scaleOf(y) },
      // The legend lists series in the order given, not alphabetically; colour and dash share it.
      color: { field: 'series', type: 'nominal' as const, title: null, scale: { domain: names } },
      strokeDash: { field: 'series', type: 'nominal' as const, title: null, scale: { domain: names, range: names.map((_, i) => [...DASHES[i % DASHES.length]!]) } },
    },
  };
  const ruleLayers = rules.map((r) => ({
    data: { values: [{ y: r.y, label: r.label }] },
    layer: [
      { mark: { type: 'rule' as const, color: 'grey', strokeDash: [4, 4] }, encoding: { y: { field: 'y', type: 'quantitative' as const } } },
      {
        mark: { type: 'text' as const, align: 'right' as const, baseline: 'bottom' as const, dy: -2, x: width, color: 'grey' },
        encoding: { y: { field: 'y', type: 'quantitative' as const }, text: { field: 'label', type: 'nominal' as const } },
      },
    ],
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(size.title !== undefined ? { title: size.title } : {}),
    width,
    height,
    background: 'white',
    // Long series names are shown whole (Vega cuts legend labels at 160 px by default).
    config: { legend: { labelLimit: 0, symbolStrokeWidth: 2, symbolSize: 300 } },
    layer: [lines, ...ruleLayers],
  };
}

function scaleOf(a: Axis): { type: 'linear' | 'log'; domain?: [number, number]; zero?: boolean } {
  const type = a.scale ?? 'linear';
  if (a.domain !== undefined) return { type, domain: [a.domain[0], a.domain[1]] };
  // A fitted linear axis starts at the data, not at 0 (log axes never include 0).
  return type === 'linear' ? { type, zero: false } : { type };
}
