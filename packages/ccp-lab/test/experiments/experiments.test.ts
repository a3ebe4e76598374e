import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aggregationExperiment } from '../../src/experiments/aggregation.js';
import { anywhereExperiment } from '../../src/experiments/anywhere.js';
import { bbrExperiment } from '../../src/experiments/bbr.js';
import type { ExperimentResult } from '../../src/experiments/experiment.js';
import { fidelityExperiment } from '../../src/experiments/fidelity.js';
import { lowRttExperiment } from '../../src/experiments/low-rtt.js';
import { formatTable, writeResult } from '../../src/experiments/output.js';
import { slowStartExperiment } from '../../src/experiments/slow-start.js';

/** The table's cell in the row whose first cells equal `key`, under `column`. */
function cell(r: ExperimentResult, key: readonly (string | number)[], column: string): number {
  const c = r.table.columns.indexOf(column);
  const row = r.table.rows.find((row) => key.every((k, i) => row[i] === k));
  if (c < 0 || row === undefined) throw new Error(`no cell ${key.join('/')} × ${column} in ${formatTable(r.table)}`);
  return row[c] as number;
}

describe('experiments in --quick mode (shapes, not exact figures)', () => {
  it('bbr: fills the 48 Mbit/s link after startup without filling the buffer', async () => {
    const r = await bbrExperiment.run({ quick: true, durationS: 2 });
    expect(cell(r, ['throughput mean (Mbit/s)'], 'value')).toBeGreaterThan(0.85 * 48);
    expect(cell(r, ['queueing delay p50 (ms)'], 'value')).toBeLessThan(20); // a 2-BDP buffer holds 40 ms
    expect(r.charts.map((c) => c.name)).toEqual(['throughput', 'queue-delay']);
  });

  it('slow-start: in-datapath window growth fills the pipe like native and no later than the agent', async () => {
    const r = await slowStartExperiment.run({ quick: true, durationS: 1.2 });
    const fill = (v: string): number => cell(r, [v], 'time to 90% of link (ms)');
    expect(fill('native Reno')).toBeLessThan(1200);
    expect(fill('CCP, datapath window')).toBeLessThanOrEqual(fill('native Reno') + 100);
    expect(fill('CCP, datapath window')).toBeLessThanOrEqual(fill('CCP, agent (per RTT)'));
  });

  it('fidelity: CCP Reno is near native Reno on the fixed link', async () => {
    const r = await fidelityExperiment.run({ quick: true, durationS: 2 });
    expect(r.table.rows).toHaveLength(6);
    const ks = cell(r, ['fixed', 'reno'], 'KS thr');
    // Two different runs: a KS distance of exactly 0 would mean CCP's samples were compared with themselves.
    expect(ks).toBeGreaterThan(0);
    expect(ks).toBeLessThan(0.6);
    expect(cell(r, ['fixed', 'reno'], 'thr CCP (Mbit/s)')).toBeGreaterThan(0.7 * cell(r, ['fixed', 'reno'], 'thr native'));
    // The trace link runs the trace shipped in the package's traces/ and delivers what the trace allows (~5 Mbit/s on average).
    expect(cell(r, ['cell', 'reno'], 'thr native')).toBeGreaterThan(1);
  });

  it('aggregation: the fair-share aggregate splits the link equally in every phase', async () => {
    const r = await aggregationExperiment.run({ quick: true, durationS: 5 });
    for (let flows = 2; flows <= 5; flows++) {
      expect(cell(r, ['fair-share aggregate', flows], 'Jain index')).toBeGreaterThan(0.98);
    }
  });

  it('low-rtt: CCP reporting every 10 µs completes an incast about as fast as in-datapath Reno', async () => {
    const r = await lowRttExperiment.run({ quick: true });
    const relative = cell(r, ['10 Gbit/s', 100, 10], 'p99 relative');
    expect(relative).toBeGreaterThan(0.8);
    expect(relative).toBeLessThan(1.5);
  });

  it('anywhere: the same Cubic moves data on the simulator and on UDP sockets', async () => {
    const r = await anywhereExperiment.run({ quick: true, durationS: 1 });
    for (const where of ['simulator', 'UDP sockets']) {
      expect(cell(r, ['cubic', where], 'goodput (Mbit/s)')).toBeGreaterThan(1);
      expect(cell(r, ['cubic', where], 'mean cwnd (packets)')).toBeGreaterThan(1);
    }
    // JSON and one SVG per chart land in the output directory.
    const dir = mkdtempSync(join(tmpdir(), 'ccp-sim-'));
    try {
      const files = await writeResult(r, dir, { tool: 'ccp-sim', version: '1.2.3', quick: true });
      expect(files).toHaveLength(2);
      expect(readdirSync(dir).sort()).toEqual(['anywhere-cwnd.svg', 'anywhere.json']);
      // The JSON says what made it and how.
      expect(JSON.parse(readFileSync(join(dir, 'anywhere.json'), 'utf8'))).toMatchObject({ tool: 'ccp-sim', version: '1.2.3', quick: true, experiment: 'anywhere' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
