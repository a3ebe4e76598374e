import { describe, expect, it } from 'vitest';
import { nimbusExperiment } from '../../src/experiments/nimbus.js';

describe('nimbus experiment (--quick: one seed per case, 15 s at 48 Mbit/s)', () => {
  it('stays in delay mode with a low queue against constant-rate traffic, and turns competitive against Cubic', async () => {
    const r = await nimbusExperiment.run({ quick: true });
    const row = (prefix: string): readonly (string | number)[] => {
      const found = r.table.rows.find((x) => String(x[0]).startsWith(prefix));
      if (found === undefined) throw new Error(`no row ${prefix}`);
      return found;
    };
    const col = (name: string): number => r.table.columns.indexOf(name);
    const inelastic = row('Nimbus a');
    const elastic = row('Nimbus b');
    expect(inelastic[col('detection correct')]).toBe('1/1');
    expect(elastic[col('detection correct')]).toBe('1/1');
    // A one-BDP buffer holds 50 ms; the delay mode aims at 15 ms.
    expect(inelastic[col('queue p95 (ms)')]).toBeLessThan(30);
    // Competitive mode takes a real share of the link from Cubic (fair: 24 Mbit/s).
    expect(elastic[col('Nimbus (Mbit/s)')]).toBeGreaterThan(10);
    expect(elastic[col('detection time p50 (s)')]).toBeLessThan(8);
    // Nimbus estimates μ itself, from the second or so it has the link alone.
    for (const r of [inelastic, elastic]) {
      expect(r[col('μ estimate / μ')]).toBeGreaterThan(0.95);
      expect(r[col('μ estimate / μ')]).toBeLessThan(1.02);
    }
    expect(r.charts.map((c) => c.name)).toEqual(expect.arrayContaining(['inelastic-rate', 'inelastic-queue', 'inelastic-mode', 'elastic-mode', 'elastic-elasticity']));
  });
});
