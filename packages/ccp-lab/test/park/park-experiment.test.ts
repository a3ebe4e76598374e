import { describe, expect, it } from 'vitest';
import { parkExperiment } from '../../src/experiments/park.js';

describe('park experiment (--quick)', () => {
  it('reports free and confined learning curves against Vegas', async () => {
    const r = await parkExperiment.run({ quick: true });
    expect(r.table.rows.map((x) => x[0])).toEqual(['confined', 'free']);
    for (const row of r.table.rows) for (const v of row.slice(1)) expect(Number.isFinite(v)).toBe(true);
    expect((r.data.confined as { rewards: number[] }).rewards).toHaveLength(r.params.episodes as number);
    expect(r.charts.map((c) => c.name)).toEqual(['learning', 'learning-raw']);
  });
});
