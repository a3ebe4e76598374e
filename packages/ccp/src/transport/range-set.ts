/**
 * A set of integers kept as sorted, disjoint, non-adjacent half-open ranges:
 * the receiver's out-of-order packets and the sender's SACK scoreboard. Few
 * ranges exist at once (one per hole), so a sorted array beats a tree.
 */
export class RangeSet {
  /** Flattened [start, end) pairs, ascending. */
  #r: number[] = [];

  get rangeCount(): number {
    return this.#r.length / 2;
  }

  get isEmpty(): boolean {
    return this.#r.length === 0;
  }

  /** The i-th range's start and end (exclusive). */
  start(i: number): number {
    return this.#r[2 * i]!;
  }

  end(i: number): number {
    return this.#r[2 * i + 1]!;
  }

  /** The smallest value in the set, or Infinity. */
  get min(): number {
    return this.#r.length === 0 ? Infinity : this.#r[0]!;
  }

  /** One past the largest value, or -Infinity. */
  get max(): number {
    return this.#r.length === 0 ? -Infinity : this.#r[this.#r.length - 1]!;
  }

  has(v: number): boolean {
    const r = this.#r;
    for (let i = 0; i < r.length; i += 2) {
      if (v < r[i]!) return false;
      if (v < r[i + 1]!) return true;
    }
    return false;
  }

  /** Index of the range holding `v`, or -1. */
  indexOf(v: number): number {
    const r = this.#r;
    for (let i = 0; i < r.length; i += 2) {
      if (v < r[i]!) return -1;
      if (v < r[i + 1]!) return i / 2;
    }
    return -1;
  }

  /**
   * Adds [start, end) and calls `onNew(s, e)` for each sub-range that was not
   * in the set yet, in ascending order.
   */
  add(start: number, end: number, onNew?: (s: number, e: number) => void): void {
    if (!(start < end)) return;
    const r = this.#r;
    // First range that ends at or after `start` (it may merge).
    let i = 0;
    while (i < r.length && r[i + 1]! < start) i += 2;
    let lo = start;
    let hi = end;
    let j = i;
    let cursor = start;
    while (j < r.length && r[j]! <= end) {
      const s = r[j]!;
      const e = r[j + 1]!;
      if (onNew !== undefined && s > cursor) onNew(cursor, Math.min(s, end));
      if (e > cursor) cursor = e;
      if (s < lo) lo = s;
      if (e > hi) hi = e;
      j += 2;
    }
    if (onNew !== undefined && cursor < end) onNew(cursor, end);
    r.splice(i, j - i, lo, hi);
  }

  /** Removes everything below `v`. */
  dropBelow(v: number): void {
    const r = this.#r;
    let i = 0;
    while (i < r.length && r[i + 1]! <= v) i += 2;
    if (i > 0) r.splice(0, i);
    if (r.length > 0 && r[0]! < v) r[0] = v;
  }

  clear(): void {
    this.#r = [];
  }
}
