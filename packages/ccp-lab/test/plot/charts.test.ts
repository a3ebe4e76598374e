import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cdfChart, lineChart } from '../../src/plot/charts.js';
import { writePlot } from '../../src/plot/render.js';

function expectSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
}

describe('plots', () => {
  it('draws a line chart with titled axes and one legend entry per series', async () => {
    const svg = await lineChart({
      title: 'cwnd over time',
      x: { label: 'time (s)' },
      y: { label: 'cwnd (packets)', scale: 'log' },
      step: true,
      series: [
        { name: 'reno', points: [[0, 10], [1, 20], [2, 12]] },
        { name: 'cubic-flow', points: [[0, 10], [1, 30], [2, Number.NaN]] },
      ],
    });
    expectSvg(svg);
    for (const text of ['cwnd over time', 'time (s)', 'cwnd (packets)', 'reno', 'cubic-flow']) expect(svg).toContain(text);
    // Two series, two line paths.
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(2);
  });

  it('shows long legend labels whole, dashes each series, and draws labelled reference lines', async () => {
    const long = 'CCP, datapath window (slow start in the datapath)';
    const svg = await lineChart({
      x: { label: 't' },
      y: { label: 'Mbit/s' },
      series: [
        { name: long, points: [[0, 1], [1, 2]] },
        { name: 'native Reno', points: [[0, 1], [1, 2]] }, // exactly on the first: the dashes keep both visible
      ],
      rules: [{ y: 48, label: 'link capacity 48 Mbit/s' }],
    });
    expectSvg(svg);
    expect(svg).toContain(long); // not cut to "CCP, datapath wi…"
    expect(svg).toContain('link capacity 48 Mbit/s');
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(2);
    expect(svg).toMatch(/stroke-dasharray="6,4"/);
  });

  it('draws CDFs of large samples from a bounded number of points', async () => {
    const values = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 100_000);
    const svg = await cdfChart({ x: { label: 'FCT (ms)' }, series: [{ name: 'copa', values }, { name: 'empty', values: [] }] });
    expectSvg(svg);
    expect(svg).toContain('copa');
    expect(svg).toContain('CDF');
    expect(svg.length).toBeLessThan(200_000);
  });

  it('writes the SVG to a file, creating directories', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ccp-plot-'));
    try {
      const svg = await lineChart({ x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 'a', points: [[0, 1]] }] });
      const file = join(dir, 'nested', 'a.svg');
      await writePlot(file, svg);
      expect(await readFile(file, 'utf8')).toBe(svg);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
