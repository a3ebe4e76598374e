/**
 * Paired statistics for a noisy shared machine: each repetition runs the
 * baseline and the subject back to back, so both see the same load; a row's
 * ratio is the median of the per-repetition ratios, with their p25–p75 as
 * its spread. Value and baseline are each the median of their own samples.
 */
import { percentile, type Result } from './results.js';

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/** Median of samples (nearest rank, as `percentile`). */
export const median = (xs: readonly number[]): number => percentile(sorted(xs), 50);

/** A row from paired samples: `values[i]` and `baselines[i]` were measured in the same repetition. */
export function pairedResult(metric: string, values: readonly number[], baselines: readonly number[], unit: string): Result {
  if (values.length !== baselines.length) throw new Error(`${metric}: ${values.length} values but ${baselines.length} baselines; pair them per repetition`);
  const ratios = sorted(values.map((v, i) => v / baselines[i]!).filter((r) => Number.isFinite(r)));
  return {
    metric,
    value: median(values),
    unit,
    baseline: median(baselines),
    ratio: percentile(ratios, 50),
    ratioP25: percentile(ratios, 25),
    ratioP75: percentile(ratios, 75),
  };
}
