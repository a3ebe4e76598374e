/** Helpers shared by the experiment definitions. */
import type { ExperimentOptions } from './experiment.js';
import type { RunControl } from './scenario.js';

/** Payload bytes per packet in every experiment (a 1500-byte MTU less IPv4, UDP and our header). */
export const MSS = 1448;

/** Bandwidth-delay product in bytes. */
export const bdpBytes = (rateBps: number, rttUs: number): number => Math.round((rateBps / 8) * (rttUs / 1e6));

/** The run length in µs: `--duration` if given, else the experiment's quick or full default (seconds). */
export function durationUs(opts: ExperimentOptions, fullS: number, quickS: number): number {
  return Math.round((opts.durationS ?? (opts.quick === true ? quickS : fullS)) * 1e6);
}

/** Mean of a sample; NaN when empty. */
export const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** µs → s, for chart axes. */
export const seconds = (us: number): number => us / 1e6;

/**
 * Progress over an experiment's `total` runs: `next()` gives the control
 * options of the next run, whose own progress counts as a fraction of one.
 */
export function runs(opts: ExperimentOptions, total: number): { next(): RunControl } {
  let done = 0;
  opts.progress?.(0, total);
  return {
    next() {
      const base = done++;
      return { signal: opts.signal, onProgress: (f) => opts.progress?.(base + f, total) };
    },
  };
}
