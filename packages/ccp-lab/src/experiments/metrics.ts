/**
 * Metrics of the experiments: throughput and delay over time, distributions
 * (percentiles, empirical CDF), completion times, fairness and the
 * two-sample Kolmogorov–Smirnov distance used to compare CCP with native
 * congestion control. Pure functions over plain numbers; times in µs.
 */
import { InvalidArgumentError } from '@bertha/core';

/** A point of a time series: [time, value]. */
export type Point = readonly [number, number];

/**
 * Counts bytes (or anything additive) in fixed time bins, online: one add per
 * delivered packet, memory proportional to the duration, not the packet count.
 */
export class BinnedCounter {
  readonly binUs: number;
  readonly originUs: number;
  readonly #bins: number[] = [];

  constructor(binUs: number, originUs = 0) {
    if (!(binUs > 0)) throw new InvalidArgumentError(`bin width must be positive, got ${binUs} µs`);
    this.binUs = binUs;
    this.originUs = originUs;
  }

  add(atUs: number, amount: number): void {
    if (atUs < this.originUs) return;
    const i = Math.floor((atUs - this.originUs) / this.binUs);
    while (this.#bins.length <= i) this.#bins.push(0);
    this.#bins[i]! += amount;
  }

  /** Sum per bin, up to `untilUs` (default: the last non-empty bin); empty bins read 0. */
  sums(untilUs?: number): number[] {
    const n = untilUs === undefined ? this.#bins.length : Math.max(0, Math.floor((untilUs - this.originUs) / this.binUs));
    return Array.from({ length: n }, (_, i) => this.#bins[i] ?? 0);
  }

  /** Bytes per bin as Mbit/s, each point at its bin's end (seconds since the origin). */
  rateMbps(untilUs?: number): Point[] {
    return this.sums(untilUs).map((bytes, i) => [((i + 1) * this.binUs) / 1e6, (bytes * 8) / this.binUs] as const);
  }
}

/**
 * Per-interval throughput (Mbit/s) of deliveries `[atUs, bytes]`: the bytes
 * delivered in each `binUs` (e.g. one RTT) starting at `fromUs`, up to `untilUs`.
 */
export function throughputSeries(deliveries: Iterable<Point>, binUs: number, fromUs = 0, untilUs?: number): Point[] {
  const c = new BinnedCounter(binUs, fromUs);
  for (const [at, bytes] of deliveries) c.add(at, bytes);
  return c.rateMbps(untilUs);
}

/** Mean of samples `[atUs, value]` in each `binUs`; bins without samples are left out. */
export function binnedMean(samples: Iterable<Point>, binUs: number, fromUs = 0): Point[] {
  const sum = new BinnedCounter(binUs, fromUs);
  const count = new BinnedCounter(binUs, fromUs);
  for (const [at, v] of samples) {
    sum.add(at, v);
    count.add(at, 1);
  }
  const n = count.sums();
  return sum.sums().flatMap((s, i) => (n[i]! > 0 ? [[(fromUs + (i + 0.5) * binUs) / 1e6, s / n[i]!] as const] : []));
}

/** Ascending copy without non-finite values. */
export function sorted(values: Iterable<number>): number[] {
  return [...values].filter(Number.isFinite).sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in [0, 100]) of ascending values; NaN when empty. */
export function percentileOf(ascending: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new InvalidArgumentError(`percentile must be in [0, 100], got ${p}`);
  if (ascending.length === 0) return NaN;
  const i = Math.min(ascending.length - 1, Math.max(0, Math.ceil((p / 100) * ascending.length) - 1));
  return ascending[i]!;
}

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Count, mean, median, tail percentiles and maximum of a sample. */
export function summarize(values: Iterable<number>): Summary {
  const s = sorted(values);
  const n = s.length;
  const mean = n === 0 ? NaN : s.reduce((a, b) => a + b, 0) / n;
  return { n, mean, p50: percentileOf(s, 50), p95: percentileOf(s, 95), p99: percentileOf(s, 99), max: n === 0 ? NaN : s[n - 1]! };
}

/**
 * Two-sample Kolmogorov–Smirnov statistic: the largest vertical distance
 * between the empirical CDFs of `a` and `b`, in [0, 1]; 0 for identical
 * samples, 1 for samples that do not overlap. Ties are stepped over together
 * so equal values never count as a difference.
 */
export function ksDistance(a: Iterable<number>, b: Iterable<number>): number {
  const x = sorted(a);
  const y = sorted(b);
  if (x.length === 0 || y.length === 0) throw new InvalidArgumentError('KS distance needs two non-empty samples');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** Jain's fairness index of per-flow allocations: 1 when all are equal, 1/n when one flow has everything. */
export function jainIndex(values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? NaN : (sum * sum) / (values.length * squares);
}

/** Each value divided by the matching baseline value (e.g. completion times relative to a baseline). */
export function relativeTo(values: readonly number[], baseline: readonly number[]): number[] {
  if (values.length !== baseline.length) throw new InvalidArgumentError(`cannot relate ${values.length} values to ${baseline.length} baselines`);
  return values.map((v, i) => v / baseline[i]!);
}

/** Points whose time (seconds) lies in [fromS, toS). */
export function window(points: readonly Point[], fromS: number, toS = Infinity): Point[] {
  return points.filter(([t]) => t >= fromS && t < toS);
}

/** The values of a series, without the times. */
export const values = (points: readonly Point[]): number[] => points.map(([, v]) => v);
