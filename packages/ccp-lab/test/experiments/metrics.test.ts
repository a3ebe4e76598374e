import { describe, expect, it } from 'vitest';
import {
  BinnedCounter,
  binnedMean,
  jainIndex,
  ksDistance,
  percentileOf,
  relativeTo,
  sorted,
  summarize,
  throughputSeries,
} from '../../src/experiments/metrics.js';

describe('ksDistance', () => {
  it('is 0 for identical samples and 1 for disjoint ones', () => {
    const a = [3, 1, 2, 5, 4, 4];
    expect(ksDistance(a, [...a].reverse())).toBe(0);
    expect(ksDistance([1, 2, 3], [10, 11])).toBe(1);
    expect(ksDistance([10, 11], [1, 2, 3])).toBe(1);
  });

  it('matches known values', () => {
    // ECDFs of {1,2,3,4} and {3,4,5,6} differ most at 2: 0.5 vs 0.
    expect(ksDistance([1, 2, 3, 4], [3, 4, 5, 6])).toBe(0.5);
    // At 3: 3/3 of the first sample vs 2/4 of the second.
    expect(ksDistance([1, 2, 3], [1.5, 2.5, 3.5, 4.5])).toBe(0.5);
    // At 6: all of {1..6} vs 1/3 of {3.5, 7, 8}.
    expect(ksDistance([1, 2, 3, 4, 5, 6], [3.5, 7, 8])).toBeCloseTo(2 / 3, 12);
    // A sample against a shifted copy of itself: one of five points out of step.
    expect(ksDistance([1, 2, 3, 4, 5], [2, 3, 4, 5, 6])).toBeCloseTo(0.2, 12);
  });

  it('treats ties as one step and is symmetric', () => {
    expect(ksDistance([1, 1, 1, 2], [1, 2, 2, 2])).toBe(0.5);
    const a = [0.3, 0.1, 0.9, 0.5];
    const b = [0.2, 0.4, 0.4, 0.8, 1];
    expect(ksDistance(a, b)).toBe(ksDistance(b, a));
  });

  it('ignores non-finite values and rejects empty samples', () => {
    expect(ksDistance([1, NaN, 2], [1, 2, Infinity])).toBe(0);
    expect(() => ksDistance([], [1])).toThrow(/non-empty/);
  });
});

describe('percentiles and summaries', () => {
  it('uses the nearest rank', () => {
    const s = sorted([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
    expect(percentileOf(s, 50)).toBe(5);
    expect(percentileOf(s, 95)).toBe(10);
    expect(percentileOf(s, 0)).toBe(1);
    expect(percentileOf([], 50)).toBeNaN();
    expect(() => percentileOf(s, 101)).toThrow(/\[0, 100\]/);
  });

  it('summarizes a sample', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(summarize(values)).toEqual({ n: 100, mean: 50.5, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(summarize([]).n).toBe(0);
  });
});

describe('time series', () => {
  it('bins deliveries into Mbit/s per interval, empty bins included', () => {
    // 1250 bytes per 1 ms bin = 10 Mbit/s; nothing in the second bin.
    const series = throughputSeries(
      [
        [100, 625],
        [900, 625],
        [2500, 1250],
      ],
      1000,
    );
    expect(series).toEqual([
      [0.001, 10],
      [0.002, 0],
      [0.003, 10],
    ]);
  });

  it('extends to a horizon and ignores samples before the origin', () => {
    const c = new BinnedCounter(10, 100);
    c.add(50, 1);
    c.add(105, 2);
    expect(c.sums(140)).toEqual([2, 0, 0, 0]);
    expect(() => new BinnedCounter(0)).toThrow(/positive/);
  });

  it('averages samples per bin and leaves empty bins out', () => {
    expect(
      binnedMean(
        [
          [0, 2],
          [400, 4],
          [2100, 10],
        ],
        1000,
      ),
    ).toEqual([
      [0.0005, 3],
      [0.0025, 10],
    ]);
  });
});

describe('fairness and ratios', () => {
  it("computes Jain's index", () => {
    expect(jainIndex([5, 5, 5, 5])).toBe(1);
    expect(jainIndex([1, 0, 0, 0])).toBe(0.25);
  });

  it('relates values to baselines one by one', () => {
    expect(relativeTo([2, 3], [1, 2])).toEqual([2, 1.5]);
    expect(() => relativeTo([1], [1, 2])).toThrow(/cannot relate/);
  });
});
