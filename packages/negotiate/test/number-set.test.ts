import { describe, expect, it } from 'vitest';
import { NumberSet } from '../src/number-set.js';

describe('NumberSet', () => {
  it('agrees with a Set over random adds, lookups and deletes, through growth and deletions inside probe chains', () => {
    const ours = new NumberSet();
    const ref = new Set<number>();
    let seed = 42;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    // Keys from a small pool, so adds, deletes and lookups hit the same keys often; both ends of the range too.
    const pool = [0, 2 ** 53 - 2, ...Array.from({ length: 3000 }, () => next() + (next() & 0x1f_ffff) * 0x1_0000_0000)];
    for (let step = 0; step < 60_000; step++) {
      const key = pool[next() % pool.length]!;
      const op = next() % 3;
      if (op === 0) {
        ours.add(key);
        ref.add(key);
      } else if (op === 1) {
        ours.delete(key);
        ref.delete(key);
      }
      expect(ours.has(key)).toBe(ref.has(key));
      expect(ours.size).toBe(ref.size);
    }
    for (const key of pool) expect(ours.has(key)).toBe(ref.has(key));
  });
});
