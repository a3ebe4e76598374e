import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/experiments/output.js';

describe('formatTable', () => {
  it('prints a column of one quantity at one precision, and a mixed column cell by cell', () => {
    const text = formatTable({
      columns: ['flows', 'Jain index', 'metric', 'value'],
      rows: [
        [1, 1, 'throughput (Mbit/s)', 46.61],
        [2, 0.9991, 'utilisation', 0.00512],
        [3, 0.988, 'drops', 12],
        [4, 0.9332, 'delay p50 (ms)', Number.NaN],
      ],
    });
    const [header, rule, ...lines] = text.split('\n');
    expect(header).toBe('flows  Jain index  metric                 value');
    expect(rule).toBe('-----  ----------  -------------------  -------');
    expect(lines.map((l) => l.trim().split(/\s{2,}/))).toEqual([
      ['1', '1.00', 'throughput (Mbit/s)', '46.6'],
      ['2', '1.00', 'utilisation', '0.00512'],
      ['3', '0.99', 'drops', '12'],
      ['4', '0.93', 'delay p50 (ms)', '-'],
    ]);
  });
});
