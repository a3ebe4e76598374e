/**
 * Gym's Box space: vectors of a fixed length, each coordinate within
 * [low, high]. The environment declares its observation and action spaces
 * with it; agents size their policies from it.
 */
import { InvalidArgumentError } from '@bertha/core';

export interface BoxSpace {
  readonly kind: 'box';
  readonly shape: readonly [number];
  readonly low: readonly number[];
  readonly high: readonly number[];
  /** What each coordinate means, for people reading logs. */
  readonly names: readonly string[];
}

export function boxSpace(names: readonly string[], low: readonly number[], high: readonly number[]): BoxSpace {
  if (!(names.length > 0 && low.length === names.length && high.length === names.length)) {
    throw new InvalidArgumentError(`a box space needs as many bounds as names (${names.length}), got ${low.length} low and ${high.length} high`);
  }
  if (low.some((l, i) => !(l <= high[i]!))) throw new InvalidArgumentError('a box space needs low ≤ high in every coordinate');
  return { kind: 'box', shape: [names.length], low: [...low], high: [...high], names: [...names] };
}

/** Whether `x` has the space's length and lies within its bounds. */
export function contains(space: BoxSpace, x: readonly number[]): boolean {
  return x.length === space.shape[0] && x.every((v, i) => v >= space.low[i]! && v <= space.high[i]!);
}
