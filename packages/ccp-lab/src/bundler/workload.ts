/**
 * The heavy-tailed request workload: Poisson arrivals whose sizes are small
 * with probability 0.976 (log-uniform, 100 B to 10 KB) and otherwise drawn
 * from a bounded Pareto (α = 0.8) between 10 KB and the maximum (100 MB as
 * published): 97.6 % of requests are at most 10 KB, as in Bundler's
 * workload, while most bytes are in the few large ones. The arrival rate
 * is set so the mean offered load is `loadBps`.
 */
import { InvalidArgumentError, mulberry32 } from '@bertha/core';

export interface Request {
  readonly startUs: number;
  readonly bytes: number;
}

export interface WorkloadOptions {
  /** Mean offered load, bits/s. */
  readonly loadBps: number;
  /** Requests start in [0, durationUs). */
  readonly durationUs: number;
  /** Largest request, bytes. Default 100 MB. */
  readonly maxBytes?: number;
  readonly seed?: number;
}

export const SMALL_FRACTION = 0.976;
const SMALL_MIN = 100;
export const SMALL_MAX = 10_000;
const ALPHA = 0.8;

/** One request size from uniforms `u`, `v` in [0, 1). */
export function requestSize(u: number, v: number, maxBytes: number): number {
  if (u < SMALL_FRACTION) return Math.round(SMALL_MIN * (SMALL_MAX / SMALL_MIN) ** v);
  // Inverse CDF of the bounded Pareto on [L, H].
  const l = SMALL_MAX;
  const ratio = (l / maxBytes) ** ALPHA;
  return Math.max(l + 1, Math.round(l / (1 - v * (1 - ratio)) ** (1 / ALPHA)));
}

/** Mean request size, bytes (closed form of the mixture above). */
export function meanRequestBytes(maxBytes: number): number {
  const small = (SMALL_MAX - SMALL_MIN) / Math.log(SMALL_MAX / SMALL_MIN);
  const l = SMALL_MAX;
  const tail = ((l ** ALPHA / (1 - (l / maxBytes) ** ALPHA)) * ALPHA * (maxBytes ** (1 - ALPHA) - l ** (1 - ALPHA))) / (1 - ALPHA);
  return SMALL_FRACTION * small + (1 - SMALL_FRACTION) * tail;
}

/** Requests in start order. */
export function heavyTailedRequests(o: WorkloadOptions): Request[] {
  const max = o.maxBytes ?? 100e6;
  if (!(o.loadBps > 0 && o.durationUs > 0 && max > SMALL_MAX)) {
    throw new InvalidArgumentError(`a workload needs loadBps > 0, durationUs > 0 and maxBytes > ${SMALL_MAX}`);
  }
  const rand = mulberry32(o.seed ?? 1);
  const perUs = o.loadBps / 8 / meanRequestBytes(max) / 1e6;
  const out: Request[] = [];
  let t = 0;
  for (;;) {
    t += -Math.log(1 - rand()) / perUs;
    if (t >= o.durationUs) return out;
    out.push({ startUs: Math.round(t), bytes: requestSize(rand(), rand(), max) });
  }
}
