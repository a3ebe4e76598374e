/**
 * A small SVG of throughput–latency curves (one line per kind, achieved
 * ops/s across, p99 latency up on a log scale), written directly: a few
 * lines of SVG do not need a plotting library.
 */
export interface Curve {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const W = 640;
const H = 400;
const M = { left: 64, right: 180, top: 24, bottom: 48 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function curvesSvg(title: string, xLabel: string, yLabel: string, curves: readonly Curve[]): string {
  const pts = curves.flatMap((c) => c.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.y > 0);
  const xMax = Math.max(1, ...pts.map((p) => p.x)) * 1.05;
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...pts.map((p) => p.y)))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...pts.map((p) => p.y)))));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => M.left + (x / xMax) * pw;
  const sy = (y: number): number => M.top + ph - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="16" font-size="13">${esc(title)}</text>`,
    `<line x1="${M.left}" y1="${M.top + ph}" x2="${M.left + pw}" y2="${M.top + ph}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + ph}" stroke="black"/>`,
  ];
  // 1, 2 or 5 times a power of ten: at most 8 labels across.
  const unit = Math.pow(10, Math.floor(Math.log10(xMax / 8)));
  const step = [1, 2, 5, 10].map((m) => m * unit).find((st) => xMax / st <= 8) ?? 10 * unit;
  for (let x = 0; x <= xMax; x += step) {
    out.push(`<line x1="${sx(x)}" y1="${M.top + ph}" x2="${sx(x)}" y2="${M.top + ph + 4}" stroke="black"/>`);
    out.push(`<text x="${sx(x)}" y="${M.top + ph + 16}" text-anchor="middle">${x.toLocaleString('en')}</text>`);
  }
  for (let y = yMin; y <= yMax * 1.001; y *= 10) {
    out.push(`<line x1="${M.left}" y1="${sy(y)}" x2="${M.left + pw}" y2="${sy(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${sy(y) + 4}" text-anchor="end">${y}</text>`);
  }
  out.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length]!;
    const ps = c.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.y > 0);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${ps.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of ps) out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = M.top + 10 + i * 18;
    out.push(`<line x1="${W - M.right + 12}" y1="${ly}" x2="${W - M.right + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${W - M.right + 38}" y="${ly + 4}">${esc(c.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
